/**
 * What live video copies and what it encodes: ffmpeg's own description of real files read back
 * (codec, pixel format, size, length), and only 8-bit 4:2:0 H.264 taken as playable in browsers.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { browserPlayable, probeVideo } from '../../src/ingest/probe-video.js';

let dir: string;
const clip = (name: string) => join(dir, name);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livecap-probe-'));
  const make = (name: string, codec: string[]) =>
    promisify(execFile)('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=10', '-t', '3', ...codec, clip(name)]);
  await Promise.all([make('h264.mp4', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p']), make('h264-444.mkv', ['-c:v', 'libx264', '-pix_fmt', 'yuv444p']), make('mpeg4.avi', ['-c:v', 'mpeg4'])]);
});
after(() => rm(dir, { recursive: true, force: true }));

test('a file as live video sees it: H.264 4:2:0 is copied, 4:4:4 and MPEG-4 are encoded', async () => {
  const h264 = await probeVideo({ kind: 'file', input: clip('h264.mp4') });
  assert.deepEqual({ ...h264, durationSeconds: Math.round(h264!.durationSeconds!) }, { codec: 'h264', pixelFormat: 'yuv420p', width: 320, height: 180, durationSeconds: 3 });
  assert.equal(browserPlayable(h264!), true);
  const h444 = await probeVideo({ kind: 'file', input: clip('h264-444.mkv') });
  assert.equal(h444?.pixelFormat, 'yuv444p');
  assert.equal(browserPlayable(h444!), false);
  const mpeg4 = await probeVideo({ kind: 'file', input: clip('mpeg4.avi') });
  assert.equal(mpeg4?.codec, 'mpeg4');
  assert.equal(browserPlayable(mpeg4!), false);
});

test('what cannot be opened, a webcam (held by the stream) and a test pattern: no description, so encoded', async () => {
  assert.equal(await probeVideo({ kind: 'file', input: clip('missing.mp4') }), undefined);
  assert.equal(await probeVideo({ kind: 'webcam', input: '/dev/video0' }), undefined);
  assert.equal(await probeVideo({ kind: 'testsrc', input: 'testsrc', pattern: 'testsrc' }), undefined);
});
