/**
 * Live HLS text: ffmpeg's video playlist read back, subtitle playlists that follow it segment for
 * segment, WebVTT segments on one timeline from the origin (a cue over two segments is the same
 * cue in both), the PTS wrap, the multivariant playlist with both renditions, and a token carried
 * onto every URI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { multivariantPlaylist, parseVideoPlaylist, subtitlePlaylist, vttSegment } from '../../src/stream/hls-playlists.js';

const FFMPEG_PLAYLIST = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:41
#EXT-X-INDEPENDENT-SEGMENTS
#EXTINF:1.933333,
#EXT-X-PROGRAM-DATE-TIME:2026-11-28T15:10:25.153+0000
v41.ts
#EXTINF:1.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-28T15:10:27.086+0000
v42.ts
`;

test('the video playlist read back, and subtitle playlists that follow it', () => {
  const video = parseVideoPlaylist(FFMPEG_PLAYLIST);
  assert.deepEqual(video, {
    targetDuration: 2,
    mediaSequence: 41,
    segments: [
      { sequence: 41, seconds: 1.933333, wallMs: Date.parse('2026-11-28T15:10:25.153Z'), uri: 'v41.ts' },
      { sequence: 42, seconds: 1, wallMs: Date.parse('2026-11-28T15:10:27.086Z'), uri: 'v42.ts' },
    ],
  });
  assert.equal(
    subtitlePlaylist(video, 'captions', '?token=t'),
    `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:41
#EXTINF:1.933,
#EXT-X-PROGRAM-DATE-TIME:2026-11-28T15:10:25.153Z
captions/41.vtt?token=t
#EXTINF:1.000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-28T15:10:27.086Z
captions/42.vtt?token=t
`,
  );
});

test('WebVTT segments share one timeline from the origin; the PTS wraps at 33 bits', () => {
  const origin = { wallMs: 1_000_000, pts: 2 ** 33 + 900_000 };
  const cues = [
    { start: 500, end: 2500, text: 'a red circle' },
    { start: 2500, end: 4000, text: 'a blue star & <b>' },
  ];
  const first = vttSegment(cues, { wallMs: 1_000_000, seconds: 2 }, origin);
  const second = vttSegment(cues, { wallMs: 1_002_000, seconds: 2 }, origin);
  assert.equal(first, 'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\n\n00:00:00.500 --> 00:00:02.500\na red circle\n');
  assert.equal(second, 'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\n\n00:00:00.500 --> 00:00:02.500\na red circle\n\n00:00:02.500 --> 00:00:04.000\na blue star &amp; &lt;b&gt;\n');
  assert.equal(vttSegment(cues, { wallMs: 1_010_000, seconds: 2 }, origin), 'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\n', 'a segment with no cue');
});

test('the multivariant playlist: a video variant with captions and descriptions', () => {
  assert.equal(
    multivariantPlaylist({ bandwidth: 900_000, resolution: { width: 640, height: 480 }, codecs: 'avc1.4d401e' }, '?token=t'),
    `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Captions",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,FORCED=NO,URI="captions.m3u8?token=t"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Descriptions",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=NO,FORCED=NO,CHARACTERISTICS="public.accessibility.describes-video",URI="descriptions.m3u8?token=t"
#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS="avc1.4d401e",RESOLUTION=640x480,SUBTITLES="subs"
video.m3u8?token=t
`,
  );
});
