/**
 * Live HLS text: ffmpeg's video playlist read back, subtitle playlists that follow it segment for
 * segment and discontinuities, WebVTT segments whose cues are cut to the segment and mapped from
 * its first PTS, the PTS wrap, the multivariant playlist with both renditions, and a token carried
 * onto every URI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { multivariantPlaylist, parseVideoPlaylist, subtitlePlaylist, videoPlaylist, vttSegment } from '../../src/stream/hls-playlists.js';

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

test('the video playlist read back, served without an end, and subtitle playlists that follow it', () => {
  const text = `${FFMPEG_PLAYLIST}#EXT-X-DISCONTINUITY\n#EXTINF:1.000000,\n#EXT-X-PROGRAM-DATE-TIME:2026-11-28T15:10:40.000+0000\nv43.ts\n#EXT-X-ENDLIST\n`;
  const video = parseVideoPlaylist(text);
  assert.deepEqual(video, {
    targetDuration: 2,
    mediaSequence: 41,
    discontinuitySequence: 0,
    ended: true,
    segments: [
      { sequence: 41, seconds: 1.933333, wallMs: Date.parse('2026-11-28T15:10:25.153Z'), uri: 'v41.ts', discontinuity: false },
      { sequence: 42, seconds: 1, wallMs: Date.parse('2026-11-28T15:10:27.086Z'), uri: 'v42.ts', discontinuity: false },
      { sequence: 43, seconds: 1, wallMs: Date.parse('2026-11-28T15:10:40.000Z'), uri: 'v43.ts', discontinuity: true },
    ],
  });
  const head = '#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:41\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n#EXT-X-INDEPENDENT-SEGMENTS\n';
  assert.equal(
    videoPlaylist(video, '?token=t'),
    `${head}#EXTINF:1.933,
#EXT-X-PROGRAM-DATE-TIME:2026-11-28T15:10:25.153Z
v41.ts?token=t
#EXTINF:1.000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-28T15:10:27.086Z
v42.ts?token=t
#EXT-X-DISCONTINUITY
#EXTINF:1.000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-28T15:10:40.000Z
v43.ts?token=t
`,
    'no EXT-X-ENDLIST: a restarted ffmpeg goes on',
  );
  // Two seconds after the second segment ended: the third is still held back.
  const now = Date.parse('2026-11-28T15:10:28.086Z') + 2000;
  assert.equal(
    subtitlePlaylist(video, 'captions', '?token=t', now, 2000),
    `${head}#EXTINF:1.933,
#EXT-X-PROGRAM-DATE-TIME:2026-11-28T15:10:25.153Z
captions/41.vtt?token=t
#EXTINF:1.000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-28T15:10:27.086Z
captions/42.vtt?token=t
`,
  );
});

test('WebVTT segments: cues cut to the segment, its first PTS mapped to its time after the base; the PTS wraps at 33 bits', () => {
  const base = 1_000_000;
  const cues = [
    { start: 500, end: 2500, text: 'a red circle' },
    { start: 2500, end: 4000, text: 'a blue star & <b>' },
  ];
  const first = vttSegment(cues, { wallMs: 1_000_000, seconds: 2, pts: 2 ** 33 + 900_000 }, base);
  const second = vttSegment(cues, { wallMs: 1_002_000, seconds: 2, pts: 2 ** 33 + 1_080_000 }, base);
  assert.equal(first, 'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\n\n00:00:00.500 --> 00:00:02.000\na red circle\n');
  assert.equal(second, 'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:1080000,LOCAL:00:00:02.000\n\n00:00:02.000 --> 00:00:02.500\na red circle\n\n00:00:02.500 --> 00:00:04.000\na blue star &amp; &lt;b&gt;\n');
  assert.equal(vttSegment(cues, { wallMs: 1_010_000, seconds: 2, pts: 0 }, base), 'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:10.000\n', 'a segment with no cue');
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
