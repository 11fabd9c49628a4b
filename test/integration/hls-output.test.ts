/**
 * ffmpeg takes the HLS output arguments: encoding a test source, it writes segments of one
 * second, each stamped with its wall-clock time, and the stamps advance exactly as the segments'
 * first PTS do (read from the files), which is what ties a caption's time to the video.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HLS_DEFAULTS, hlsOutputArgs } from '../../src/ingest/hls-output-args.js';
import { firstVideoPts } from '../../src/media/mpegts.js';

test('encoded HLS: one-second segments whose wall-clock stamps follow their PTS', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-hls-'));
  try {
    const args = ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-t', '5', ...hlsOutputArgs({ ...HLS_DEFAULTS, dir, copy: false, listSize: 10 })];
    await promisify(execFile)('ffmpeg', args);
    const playlist = await readFile(join(dir, 'video.m3u8'), 'utf8');
    const segments = [...playlist.matchAll(/#EXTINF:([\d.]+),\n#EXT-X-PROGRAM-DATE-TIME:(\S+)\n(v\d+\.ts)/g)].map((m) => ({
      seconds: Number(m[1]),
      wall: Date.parse(m[2]!.replace(/([+-]\d\d)(\d\d)$/, '$1:$2')),
      file: m[3]!,
    }));
    assert.ok(segments.length >= 4, playlist);
    for (const s of segments.slice(0, -1)) assert.ok(Math.abs(s.seconds - 1) < 0.05, `a segment of ${s.seconds} s`);
    const pts = await Promise.all(segments.map(async (s) => firstVideoPts(await readFile(join(dir, s.file)))!));
    for (let k = 1; k < segments.length; k++) {
      const byWall = segments[k]!.wall - segments[0]!.wall;
      const byPts = ((pts[k]! - pts[0]!) / 90_000) * 1000;
      assert.ok(Math.abs(byWall - byPts) <= 2, `segment ${k}: ${byWall} ms by the clock, ${byPts.toFixed(1)} ms by PTS`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
