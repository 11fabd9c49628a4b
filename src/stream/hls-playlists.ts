/**
 * The text of live HLS for a stream (RFC 8216): the multivariant playlist (the video variant
 * and two subtitle renditions: captions, and summaries as a "describes video" track), the video
 * playlist and the subtitle playlists, which follow the video playlist ffmpeg writes segment for
 * segment (discontinuities included), and their WebVTT segments.
 *
 * Timing: a WebVTT segment's X-TIMESTAMP-MAP maps its video segment's first PTS to that
 * segment's wall-clock time (EXT-X-PROGRAM-DATE-TIME, which ffmpeg advances exactly as the PTS),
 * counted from a fixed `base`; cue times count from the same base. So every segment, across
 * discontinuities and PTS wraps, puts a cue at the video frame captured at the cue's time. A cue
 * is cut to the segment it is listed in: a caption that spans segments is a piece in each, and
 * a piece never changes once its segment is served.
 * URIs are relative; a token given in the query is carried onto each (players do not carry it).
 */
import type { Cue } from './subtitles.js';
import { toWebVtt, vttTimestamp } from './subtitles.js';

export interface VideoSegment {
  sequence: number;
  seconds: number;
  /** Its EXT-X-PROGRAM-DATE-TIME, ms since the epoch. */
  wallMs: number;
  uri: string;
  /** An EXT-X-DISCONTINUITY precedes it (ffmpeg was restarted). */
  discontinuity: boolean;
}

export interface VideoPlaylist {
  targetDuration: number;
  mediaSequence: number;
  /** EXT-X-DISCONTINUITY-SEQUENCE (ffmpeg leaves it out: 0). */
  discontinuitySequence: number;
  segments: VideoSegment[];
  /** ffmpeg wrote EXT-X-ENDLIST: its process stopped. */
  ended: boolean;
}

/** The segments of the media playlist ffmpeg writes (each with its EXTINF and PROGRAM-DATE-TIME). */
export function parseVideoPlaylist(text: string): VideoPlaylist {
  const targetDuration = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)?.[1] ?? 1);
  const mediaSequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
  const discontinuitySequence = Number(/#EXT-X-DISCONTINUITY-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
  const segments: VideoSegment[] = [];
  let seconds: number | undefined;
  let wallMs: number | undefined;
  let discontinuity = false;
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line.startsWith('#EXTINF:')) seconds = Number.parseFloat(line.slice(8));
    else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) wallMs = Date.parse(line.slice(25).replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
    else if (line === '#EXT-X-DISCONTINUITY') discontinuity = true;
    else if (line && !line.startsWith('#') && seconds !== undefined && wallMs !== undefined) {
      segments.push({ sequence: mediaSequence + segments.length, seconds, wallMs, uri: line, discontinuity });
      seconds = undefined;
      wallMs = undefined;
      discontinuity = false;
    }
  }
  return { targetDuration, mediaSequence, discontinuitySequence, segments, ended: /^#EXT-X-ENDLIST/m.test(text) };
}

/** A live media playlist of the segments (never ended: the stream goes on), each at `uriOf(segment)`. */
function mediaPlaylist(video: VideoPlaylist, segments: readonly VideoSegment[], uriOf: (s: VideoSegment) => string): string {
  const first = segments[0];
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:6',
    `#EXT-X-TARGETDURATION:${video.targetDuration}`,
    `#EXT-X-MEDIA-SEQUENCE:${first?.sequence ?? video.mediaSequence}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${video.discontinuitySequence}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  for (const s of segments) {
    if (s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXTINF:${s.seconds.toFixed(3)},`, `#EXT-X-PROGRAM-DATE-TIME:${new Date(s.wallMs).toISOString()}`, uriOf(s));
  }
  return `${lines.join('\n')}\n`;
}

/** The video playlist as served: ffmpeg's, without an end while the stream goes on, the token on each segment. */
export function videoPlaylist(video: VideoPlaylist, query = ''): string {
  return mediaPlaylist(video, video.segments, (s) => `${s.uri}${query}`);
}

export type SubtitleTrack = 'captions' | 'descriptions';

/**
 * A subtitle playlist with a WebVTT segment (`<track>/<sequence>.vtt`) for each video segment
 * that ended at least `holdMs` before `now`: its captions have been made by then, and a player
 * (or ffmpeg, which reads live WebVTT only up to what is listed) gets each segment at once.
 */
export function subtitlePlaylist(video: VideoPlaylist, track: SubtitleTrack, query = '', now = Infinity, holdMs = 0): string {
  // Held back segments are the newest: the first listed, and its discontinuity sequence, stay.
  const ready = video.segments.filter((s) => s.wallMs + s.seconds * 1000 + holdMs <= now);
  return mediaPlaylist(video, ready, (s) => `${track}/${s.sequence}.vtt${query}`);
}

/** PTS wrap at 33 bits. */
const PTS_WRAP = 2 ** 33;

/**
 * A WebVTT segment: the pieces of the cues (times in ms after `base`) inside the segment's span,
 * its X-TIMESTAMP-MAP tying its first video PTS to its time after `base`.
 */
export function vttSegment(all: readonly Cue[], segment: Pick<VideoSegment, 'wallMs' | 'seconds'> & { pts: number }, base: number): string {
  const from = segment.wallMs - base;
  const to = from + segment.seconds * 1000;
  const pieces = all.filter((c) => c.end > from && c.start < to).map((c) => ({ start: Math.max(c.start, from), end: Math.min(c.end, to), text: c.text }));
  return toWebVtt(pieces, undefined, [`X-TIMESTAMP-MAP=MPEGTS:${((segment.pts % PTS_WRAP) + PTS_WRAP) % PTS_WRAP},LOCAL:${vttTimestamp(Math.max(0, from))}`]);
}

export interface VariantInfo {
  /** Peak bits per second. */
  bandwidth: number;
  resolution?: { width: number; height: number };
  /** RFC 6381 codecs of the video (e.g. avc1.4d401e), when known. */
  codecs?: string;
}

/** The multivariant playlist: one video variant with two subtitle renditions. */
export function multivariantPlaylist(variant: VariantInfo, query = ''): string {
  const media = (name: string, track: SubtitleTrack, extra: string) => `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="${name}",LANGUAGE="en",${extra},URI="${track}.m3u8${query}"`;
  const attributes = [
    `BANDWIDTH=${Math.round(variant.bandwidth)}`,
    ...(variant.codecs ? [`CODECS="${variant.codecs}"`] : []),
    ...(variant.resolution ? [`RESOLUTION=${variant.resolution.width}x${variant.resolution.height}`] : []),
    'SUBTITLES="subs"',
  ];
  return `${[
    '#EXTM3U',
    '#EXT-X-VERSION:6',
    '#EXT-X-INDEPENDENT-SEGMENTS',
    media('Captions', 'captions', 'DEFAULT=YES,AUTOSELECT=YES,FORCED=NO'),
    media('Descriptions', 'descriptions', 'DEFAULT=NO,AUTOSELECT=NO,FORCED=NO,CHARACTERISTICS="public.accessibility.describes-video"'),
    `#EXT-X-STREAM-INF:${attributes.join(',')}`,
    `video.m3u8${query}`,
  ].join('\n')}\n`;
}
