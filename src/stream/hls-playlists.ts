/**
 * The text of live HLS for a stream (RFC 8216): the multivariant playlist (the video variant
 * and two subtitle renditions: captions, and summaries as a "describes video" track), the
 * subtitle playlists, which follow the video playlist ffmpeg writes segment for segment, and
 * their WebVTT segments.
 *
 * Timing: every WebVTT segment maps the same moment, the stream's origin (a wall-clock time and
 * the video PTS at it, from a video segment's EXT-X-PROGRAM-DATE-TIME and first PTS), to LOCAL
 * 00:00:00.000 in its X-TIMESTAMP-MAP, so cue times are one continuous timeline from the
 * origin: a cue that spans two segments is the same cue in both, and players keep one of it.
 * URIs are relative; a token given in the query is carried onto each (players do not carry it).
 */
import type { Cue } from './subtitles.js';
import { toWebVtt } from './subtitles.js';

export interface VideoSegment {
  sequence: number;
  seconds: number;
  /** Its EXT-X-PROGRAM-DATE-TIME, ms since the epoch. */
  wallMs: number;
  uri: string;
}

export interface VideoPlaylist {
  targetDuration: number;
  mediaSequence: number;
  segments: VideoSegment[];
}

/** The segments of the media playlist ffmpeg writes (each with its EXTINF and PROGRAM-DATE-TIME). */
export function parseVideoPlaylist(text: string): VideoPlaylist {
  const targetDuration = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)?.[1] ?? 1);
  const mediaSequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
  const segments: VideoSegment[] = [];
  let seconds: number | undefined;
  let wallMs: number | undefined;
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line.startsWith('#EXTINF:')) seconds = Number.parseFloat(line.slice(8));
    else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) wallMs = Date.parse(line.slice(25).replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
    else if (line && !line.startsWith('#') && seconds !== undefined && wallMs !== undefined) {
      segments.push({ sequence: mediaSequence + segments.length, seconds, wallMs, uri: line });
      seconds = undefined;
      wallMs = undefined;
    }
  }
  return { targetDuration, mediaSequence, segments };
}

export type SubtitleTrack = 'captions' | 'descriptions';

/** A subtitle playlist with a WebVTT segment for each video segment (`<track>/<sequence>.vtt`). */
export function subtitlePlaylist(video: VideoPlaylist, track: SubtitleTrack, query = ''): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', `#EXT-X-TARGETDURATION:${video.targetDuration}`, `#EXT-X-MEDIA-SEQUENCE:${video.mediaSequence}`];
  for (const s of video.segments) lines.push(`#EXTINF:${s.seconds.toFixed(3)},`, `#EXT-X-PROGRAM-DATE-TIME:${new Date(s.wallMs).toISOString()}`, `${track}/${s.sequence}.vtt${query}`);
  return `${lines.join('\n')}\n`;
}

/** PTS wrap at 33 bits. */
const PTS_WRAP = 2 ** 33;

/**
 * A WebVTT segment: the cues (times in ms after `origin.wallMs`) that overlap the segment's
 * span, on the origin's timeline.
 */
export function vttSegment(all: readonly Cue[], segment: Pick<VideoSegment, 'wallMs' | 'seconds'>, origin: { wallMs: number; pts: number }): string {
  const from = segment.wallMs - origin.wallMs;
  const to = from + segment.seconds * 1000;
  const inside = all.filter((c) => c.end > from && c.start < to);
  return toWebVtt(inside, undefined, [`X-TIMESTAMP-MAP=MPEGTS:${((origin.pts % PTS_WRAP) + PTS_WRAP) % PTS_WRAP},LOCAL:00:00:00.000`]);
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
