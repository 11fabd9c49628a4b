/**
 * VLC plays a stream's live video with its captions: the real server captions a dark clip (its
 * scenes are out of the captioner's domain, so every cue reads "[scene not recognised by the
 * captioner]"), VLC opens the multivariant playlist, takes the Captions rendition by itself
 * (DEFAULT=YES) and draws its cues onto the picture (transcoded with the subtitles overlaid, as it
 * would show them). The clip is never brighter than grey 70: any white in VLC's frames is its
 * rendering of a cue, and it is where subtitles go, at the bottom.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer, type RunningServer } from '../../src/stream/server.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import { runFfmpeg } from '../../src/media/ffmpeg.js';
import { waitFor } from '../helpers/processes.js';

const VLC = '/usr/bin/cvlc';
const run = promisify(execFile);
let dir: string;
let server: RunningServer;

before(async () => {
  if (!existsSync(VLC)) return;
  dir = await mkdtemp(join(tmpdir(), 'livecap-vlc-'));
  // VLC refuses to run as root: it runs as nobody, writing here.
  await chmod(dir, 0o777);
  // Black and grey 70 by turns, two seconds each: a cut, and a caption, every two seconds.
  await runFfmpeg([
    '-f',
    'lavfi',
    '-i',
    "color=c=black:s=320x240:r=15:d=20,format=gray,geq=lum='if(mod(floor(T/2),2),70,0)'",
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '15',
    join(dir, 'dark.mp4'),
  ]);
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    mediaDir: dir,
    captioner: await acquireCaptioner(EMBEDDED_CAPTIONER),
    captionerName: 'embedded',
    pipeline: { output: { width: 160, height: 120, fps: 10 } },
  });
  server.addSource('dark', { kind: 'file', input: join(dir, 'dark.mp4'), loop: true }, 'dark');
  await waitFor('the stream live', () => server.streams.get('dark')?.state === 'live');
});

after(async () => {
  await server?.close();
  if (existsSync(VLC)) await releaseCaptioner(EMBEDDED_CAPTIONER);
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('VLC plays the live playlist and draws the captions on the picture', { skip: !existsSync(VLC) && 'VLC is not installed (vlc-bin, vlc-plugin-base)' }, async () => {
  const out = join(dir, 'seen.ts');
  const vlc = [
    VLC,
    '-I',
    'dummy',
    '--play-and-exit',
    '--run-time',
    '12',
    '--sout',
    `#transcode{vcodec=h264,venc=x264{preset=ultrafast},soverlay}:std{access=file,mux=ts,dst=${out}}`,
    `${server.url}/api/streams/dark/live/index.m3u8`,
  ];
  const asUser = process.getuid?.() === 0 ? ['runuser', '-u', 'nobody', '--', 'env', `HOME=${dir}`] : ['env', `HOME=${dir}`];
  await run(asUser[0]!, [...asUser.slice(1), ...vlc], { timeout: 60_000 });
  // Every frame VLC made, grey, at the clip's size.
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', out, '-vf', 'scale=320:240,format=gray', '-f', 'rawvideo', '-'], { encoding: 'buffer', maxBuffer: 1 << 28 });
  const size = 320 * 240;
  const frames = stdout.length / size;
  assert.ok(frames >= 60, `${frames} frames from VLC`);
  let withText = 0;
  let above = 0;
  for (let f = 0; f < frames; f++) {
    let bright = 0;
    for (let p = 0; p < size; p++) {
      if (stdout[f * size + p]! > 160) {
        bright++;
        if (p < size / 2) above++;
      }
    }
    if (bright >= 20) withText++;
  }
  assert.ok(withText >= frames * 0.3, `captions drawn in ${withText} of ${frames} frames`);
  assert.equal(above, 0, 'the captions are drawn in the lower half, where subtitles go');
});
