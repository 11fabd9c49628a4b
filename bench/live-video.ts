/**
 * Live video benchmark, two parts:
 *
 * 1. CPU per watched stream. For an H.264 source (copied) and an MJPEG one (encoded), both
 *    640×360 at 25 fps played as live, the CPU of ffmpeg (share of one core over `--seconds`)
 *    for: analysis alone (frames for the pipeline); ffmpeg producing the same HLS alone (the
 *    baseline); analysis and HLS in one process (what livecap does); analysis and a second HLS
 *    process (the other way). What live video adds is each of the last two minus analysis alone.
 * 2. On the real server, a stream watched for `--watch` seconds. The clip's frames identify
 *    themselves: a new colour every 1.5 s (a cut), its brightness ramping frame by frame, so a
 *    frame's mean colour says which frame it is. Reported:
 *    - preview latency: capture (a segment's first frame, its EXT-X-PROGRAM-DATE-TIME) to the
 *      segment being listed, i.e. playable; and capture to shown in Chromium playing it with
 *      hls.js as the viewer does (Date.now() − hls.playingDate);
 *    - cue alignment: for every caption, its cue starts at its frame time; the video frame that
 *      matches its keyframe's colour is found in the HLS segments and timed by their clock;
 *      the difference is how far the cue is from the frame it describes.
 *
 *   livecap bench live-video [--seconds 15] [--watch 40]
 *
 * Everything runs on 127.0.0.1 and stops by itself.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { ffmpegArgs, INGEST_DEFAULTS, inputArgs } from '../src/ingest/ffmpeg-args.js';
import { HLS_DEFAULTS, hlsOutputArgs } from '../src/ingest/hls-output-args.js';
import type { Source } from '../src/ingest/source.js';
import { FFMPEG, runFfmpeg } from '../src/media/ffmpeg.js';
import { decodeImage } from '../src/media/image.js';
import { firstVideoPts } from '../src/media/mpegts.js';
import { acquireCaptioner, releaseCaptioner } from '../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../src/paths.js';
import { parseVideoPlaylist } from '../src/stream/hls-playlists.js';
import { startServer } from '../src/stream/server.js';
import type { CaptionMessage } from '../src/core/events.js';
import { machineLine, summarize } from './machine.js';

const ANALYSIS = { width: 160, height: 120, fps: 10 };
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A process's CPU time so far, in seconds (/proc/PID/stat: utime + stime). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Runs the ffmpeg command lines together; the share of one core they use over `seconds`, after 3 s to settle. */
async function cpuOf(commands: string[][], seconds: number): Promise<number> {
  const children = commands.map((args) => spawn(FFMPEG, args, { stdio: ['ignore', 'ignore', 'ignore'] }));
  try {
    await sleep(3000);
    const start = children.map((c) => cpuSeconds(c.pid!));
    const t0 = Date.now();
    await sleep(seconds * 1000);
    const used = children.reduce((sum, c, i) => sum + cpuSeconds(c.pid!) - start[i]!, 0);
    return (used / ((Date.now() - t0) / 1000)) * 100;
  } finally {
    for (const c of children) c.kill('SIGKILL');
  }
}

async function cpuPart(seconds: number, dir: string): Promise<void> {
  const clips = [
    { name: 'H.264 (copied)', file: join(dir, 'h264.mp4'), codec: ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '50'], copy: true },
    { name: 'MJPEG (encoded)', file: join(dir, 'mjpeg.avi'), codec: ['-c:v', 'mjpeg', '-q:v', '5'], copy: false },
  ];
  console.log(`\n## CPU per watched stream (share of one core; ffmpeg only; ${seconds} s each)\n`);
  console.log('| source, 640×360 25 fps | analysis alone | HLS alone (baseline) | analysis + HLS, one process | analysis + a second HLS process | live video adds: one process | second process |');
  console.log('|---|---|---|---|---|---|---|');
  for (const clip of clips) {
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', '20', ...clip.codec, clip.file], { label: 'clip' });
    const source: Source = { kind: 'file', input: clip.file, loop: true };
    const hlsDir = await mkdtemp(join(dir, 'hls-'));
    const hls = hlsOutputArgs({ ...HLS_DEFAULTS, dir: hlsDir, copy: clip.copy });
    const analysis = ffmpegArgs(source, ANALYSIS);
    const hlsAlone = ['-hide_banner', '-nostdin', '-loglevel', 'error', ...inputArgs(source, INGEST_DEFAULTS), ...hls];
    const alone = await cpuOf([analysis], seconds);
    const baseline = await cpuOf([hlsAlone], seconds);
    const one = await cpuOf([[...analysis, ...hls]], seconds);
    const two = await cpuOf([analysis, hlsAlone], seconds);
    const pct = (n: number) => `${n.toFixed(1)} %`;
    console.log(`| ${clip.name} | ${pct(alone)} | ${pct(baseline)} | ${pct(one)} | ${pct(two)} | ${pct(one - alone)} | ${pct(two - alone)} |`);
  }
}

/** 20 colours; a frame is colour k at brightness 0.3 + 0.7 × (its place in the 1.5 s block). */
const PALETTE = Array.from({ length: 20 }, (_, k) => {
  const h = (k * 137.5) % 360;
  const f = (n: number) => {
    const a = (n + h / 30) % 12;
    return 255 * (0.5 - 0.5 * Math.max(-1, Math.min(a - 3, 9 - a, 1)));
  };
  return [f(0), f(8), f(4)] as const;
});
const BLOCK_S = 1.5;
const CLIP = { width: 320, height: 180, fps: 15, seconds: 30 };

function* colourFrames(): Generator<Uint8Array> {
  for (let i = 0; i < CLIP.fps * CLIP.seconds; i++) {
    const t = i / CLIP.fps;
    const block = Math.floor(t / BLOCK_S);
    const level = 0.3 + 0.7 * ((t % BLOCK_S) / BLOCK_S);
    const [r, g, b] = PALETTE[block % PALETTE.length]!;
    const frame = new Uint8Array(CLIP.width * CLIP.height * 3);
    for (let p = 0; p < frame.length; p += 3) {
      frame[p] = r * level;
      frame[p + 1] = g * level;
      frame[p + 2] = b * level;
    }
    yield frame;
  }
}

const meanColour = (rgb: Uint8Array) => {
  const sum = [0, 0, 0];
  for (let p = 0; p < rgb.length; p += 3) for (let c = 0; c < 3; c++) sum[c]! += rgb[p + c]!;
  const n = rgb.length / 3;
  return sum.map((s) => s / n);
};
const distance = (a: number[], b: number[]) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

/** A segment's frames: mean colour and PTS (90 kHz), decoded by ffmpeg. */
async function segmentFrames(ts: Buffer): Promise<{ colour: number[]; pts: number }[]> {
  const size = 8 * 8 * 3;
  const child = spawn(FFMPEG, ['-hide_banner', '-loglevel', 'info', '-copyts', '-i', 'pipe:0', '-vf', 'scale=8:8,showinfo', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  child.stdin.end(ts);
  await new Promise((resolve) => child.once('close', resolve));
  const raw = Buffer.concat(out);
  const pts = [...err.matchAll(/n:\s*\d+ pts:\s*(\d+)/g)].map((m) => Number(m[1]));
  return pts.map((p, k) => ({ pts: p, colour: meanColour(raw.subarray(k * size, (k + 1) * size)) }));
}

async function servedPart(watchSeconds: number, dir: string): Promise<void> {
  const clip = join(dir, 'colours.mp4');
  await runFfmpeg(
    ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${CLIP.width}x${CLIP.height}`, '-r', String(CLIP.fps), '-i', 'pipe:0', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', String(CLIP.fps), clip],
    { input: colourFrames(), label: 'colour clip' },
  );
  const captioner = await acquireCaptioner(EMBEDDED_CAPTIONER);
  const server = await startServer({ host: '127.0.0.1', port: 0, mediaDir: dir, captioner, captionerName: 'embedded', pipeline: { output: ANALYSIS }, liveVideo: { dir } });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'],
  });
  try {
    server.addSource('colours', { kind: 'file', input: clip, loop: true }, 'colours');
    const base = `${server.url}/api/streams/colours/live`;
    for (let i = 0; i < 200 && server.streams.get('colours')?.state !== 'live'; i++) await sleep(100);
    await (await fetch(`${base}/index.m3u8`)).text();
    const watchFrom = Date.now();

    // A player as the viewer's: hls.js, two segments behind the live edge.
    const page = await browser.newPage();
    // Same origin as the server: its scripts are for its own pages.
    await page.goto(`${server.url}/healthz`);
    await page.setContent('<video id="v" muted playsinline></video>');
    await page.addScriptTag({ url: `${server.url}/viewer/vendor/hls.min.js` });
    await page.evaluate((url) => {
      const w = window as unknown as { Hls: new (c: object) => { loadSource(u: string): void; attachMedia(v: HTMLVideoElement): void; playingDate: Date | null }; player: unknown };
      const hls = new w.Hls({ enableWorker: false, liveSyncDurationCount: 2 });
      w.player = hls;
      hls.loadSource(url);
      const video = document.getElementById('v') as HTMLVideoElement;
      hls.attachMedia(video);
      void video.play().catch(() => {});
    }, `${base}/index.m3u8`);

    const segments = new Map<number, { listedAt: number; wallMs: number; seconds: number; ts: Buffer }>();
    const shown: number[] = [];
    let lastSample = 0;
    while (Date.now() - watchFrom < watchSeconds * 1000) {
      const listed = parseVideoPlaylist(await (await fetch(`${base}/video.m3u8`)).text());
      const now = Date.now();
      for (const s of listed.segments.filter((s) => !segments.has(s.sequence))) {
        const ts = Buffer.from(await (await fetch(`${base}/${s.uri}`)).arrayBuffer());
        // The first listing seen may hold segments made before the watch began: their listing time is unknown.
        segments.set(s.sequence, { listedAt: segments.size === 0 && listed.segments.length > 1 ? Number.NaN : now, wallMs: s.wallMs, seconds: s.seconds, ts });
      }
      if (now - lastSample >= 500) {
        lastSample = now;
        const playing = await page.evaluate(() => (window as unknown as { player: { playingDate: Date | null } }).player.playingDate?.getTime() ?? null);
        if (playing !== null && now - watchFrom > 5000) shown.push(Date.now() - playing);
      }
      await sleep(100);
    }

    // Every video frame on the wall clock: its segment's stamp plus its PTS distance from the segment's first.
    const frames: { wallMs: number; colour: number[] }[] = [];
    for (const s of segments.values()) {
      const first = firstVideoPts(s.ts);
      for (const f of await segmentFrames(s.ts)) frames.push({ wallMs: s.wallMs + ((f.pts - first!) / 90_000) * 1000, colour: f.colour });
    }
    const from = Math.min(...[...segments.values()].map((s) => s.wallMs));
    const to = Math.max(...[...segments.values()].map((s) => s.wallMs + s.seconds * 1000));
    const history = (await (await fetch(`${server.url}/api/streams/colours/captions?limit=1000`)).json()) as { captions: CaptionMessage[] };
    const offsets: number[] = [];
    for (const c of history.captions.filter((c) => c.type === 'caption' && c.keyframeUrl && c.frameTs > from + 3000 && c.frameTs < to - 3000)) {
      const keyframe = decodeImage(new Uint8Array(await (await fetch(`${server.url}${c.keyframeUrl}`)).arrayBuffer()), 'keyframe');
      const colour = meanColour(keyframe.data);
      // The loop repeats every 30 s: the frame is looked for within 3 s of the caption.
      const near = frames.filter((f) => Math.abs(f.wallMs - c.frameTs) < 3000);
      const best = near.reduce((a, b) => (distance(b.colour, colour) < distance(a.colour, colour) ? b : a));
      offsets.push(c.frameTs - best.wallMs);
    }
    const playable = [...segments.values()].filter((s) => Number.isFinite(s.listedAt)).map((s) => s.listedAt - s.wallMs);
    const ms = (n: number) => `${Math.round(n)} ms`;
    const line = (name: string, values: number[], goal: string) => {
      const s = summarize(values);
      console.log(`| ${name} | ${values.length} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(Math.max(...values))} | ${goal} |`);
    };
    console.log(`\n## Latency and alignment (1 s segments, H.264 copied, ${watchSeconds} s watched)\n`);
    console.log('| measure | n | p50 | p95 | max | goal |');
    console.log('|---|---|---|---|---|---|');
    line('capture → segment listed (playable)', playable, '≤ 4 s');
    line('capture → shown in Chromium (hls.js, 2 segments behind)', shown, '');
    line('cue start − its frame in the video (|error|)', offsets.map(Math.abs), '≤ 0.5 s');
    const signed = summarize(offsets);
    console.log(`\nCue error signed: mean ${ms(signed.mean)} (positive: the cue starts after its frame is shown); ${offsets.length} captions.`);
  } finally {
    await browser.close();
    await server.close();
    await releaseCaptioner(EMBEDDED_CAPTIONER);
  }
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { seconds: { type: 'string', default: '15' }, watch: { type: 'string', default: '40' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log('usage: livecap bench live-video [--seconds 15] [--watch 40]');
    return 0;
  }
  console.log(`# live video benchmark: ${machineLine()}`);
  const dir = await mkdtemp(join(tmpdir(), 'livecap-bench-live-'));
  try {
    await cpuPart(Number(values.seconds), dir);
    await servedPart(Number(values.watch), dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return 0;
}
