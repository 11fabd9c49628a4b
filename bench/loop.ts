/**
 * Event-loop benchmark: how long does ordinary work block the server's event loop while it
 * captions a stream for 1, 1,000 and 5,000 WebSocket viewers, and how long does a caption
 * take from the model's answer to a viewer?
 *
 * The real server captions a synthetic clip played as live (embedded model in its worker)
 * while viewers in another process (viewer-swarm) read every caption. Each viewer count runs
 * three times in the same benchmark: with no stream (the machine's noise floor), with the
 * old synchronous path as a baseline (thumbnail JPEG
 * encoded on the event loop, every broadcast written to every socket in one go), then
 * livecap's path (thumbnail encoded in a worker while the model captions, broadcasts written
 * a slice of sockets per turn). Reported per run: the loop's longest block and p99
 * (perf_hooks.monitorEventLoopDelay, 1 ms resolution, measured once the viewers are
 * connected and the model warm), and the longest stretch the main thread ran on a CPU without
 * the loop getting a turn (Linux schedstat; on a shared machine the loop delay also counts time
 * the thread merely waited for a CPU), the longest GC pause, captions made, and model answer →
 * viewer latency.
 *
 *   livecap bench loop [--viewers 1,1000,5000] [--seconds 20] [--rounds 1]
 *
 * Everything runs on 127.0.0.1 and stops by itself.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startServer } from '../src/stream/server.js';
import { acquireCaptioner, releaseCaptioner } from '../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../src/paths.js';
import { videoScript, writeVideo } from '../src/synth/video.js';
import { encodeJpeg } from '../src/media/image.js';
import { machineLine } from './machine.js';
import type { Frame } from '../src/core/frame.js';

interface Path {
  label: string;
  /** Old path: the thumbnail encoded on the event loop, and broadcasts written in one go. */
  inline: boolean;
  /** Without a stream: the machine's own noise floor (other processes, GC, timers). */
  stream: boolean;
}

interface RunResult {
  path: string;
  viewers: number;
  loopMaxMs: number;
  loopP99Ms: number;
  /** Times the loop was held more than 20 ms. */
  over20: number;
  /**
   * The longest the main thread ran on a CPU without the loop getting a turn (Linux schedstat),
   * and how many of the blocks over 20 ms were mostly running rather than waiting for a CPU:
   * on a shared machine, the loop delay also counts time the thread was not scheduled at all.
   */
  cpu: { longestMs: number; runningOver20: number } | undefined;
  /** The longest garbage-collection pause on the main thread. */
  gcMaxMs: number;
  captions: number;
  delivered: number;
  model: { p50: number; p95: number; p99: number };
}

const PATHS: Path[] = [
  { label: 'no stream (floor)', inline: false, stream: false },
  { label: 'synchronous (before)', inline: true, stream: true },
  { label: 'off the loop, sliced (after)', inline: false, stream: true },
];

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { viewers: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' } } });
  const counts = (values.viewers ?? '1,1000,5000').split(',').map(Number);
  const seconds = Number(values.seconds ?? 20);
  const rounds = Number(values.rounds ?? 1);
  if (!counts.every((n) => Number.isInteger(n) && n >= 1) || !(seconds >= 5)) throw new Error('bench loop: --viewers takes counts of 1 or more, --seconds at least 5');

  const media = await mkdtemp(join(tmpdir(), 'livecap-loop-'));
  await writeVideo(videoScript(700, { duration: 60, width: 160, height: 120, fps: 10, minScene: 1, maxScene: 2 }), join(media, 'cam.mp4'));
  const captioner = await acquireCaptioner(EMBEDDED_CAPTIONER);
  // What the old path added on the loop between the model's answer and the broadcast.
  const jpeg = jpegCost();
  console.log(`thumbnail JPEG encode on the event loop (160×120): first ${jpeg.firstMs.toFixed(1)} ms, then mean ${jpeg.meanMs.toFixed(1)} ms, max ${jpeg.maxMs.toFixed(1)} ms over 50`);
  const results: RunResult[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      for (const [viewers, path] of counts.flatMap((n) => PATHS.map((p) => [n, p] as const))) {
        const inlineThumbnail = (f: Frame) => Promise.resolve(`data:image/jpeg;base64,${encodeJpeg(f, 80).toString('base64')}`);
        const server = await startServer({
          host: '127.0.0.1',
          port: 0,
          mediaDir: media,
          captioner,
          hub: path.inline ? { sendsPerTurn: Infinity } : {},
          pipeline: { output: { width: 160, height: 120, fps: 10 }, ...(path.inline ? { thumbnail: inlineThumbnail } : {}) },
        });
        try {
          if (path.stream) {
            server.manager!.add('cam', 'cam.mp4');
            // Warm: the model has answered and the first thumbnail is made.
            while ((server.streams.get('cam')?.counters.captions ?? 0) < 2) await new Promise((r) => setTimeout(r, 100));
          }
          // Without a stream the viewers' subscribe is answered with an error; they stay connected.
          results.push(await once(server.url, path.label, viewers, seconds, () => server.streams.get('cam')?.counters.captions ?? 0));
          const r = results.at(-1)!;
          console.log(
            `${r.path}, ${r.viewers} viewers: loop max ${r.loopMaxMs.toFixed(1)} ms, p99 ${r.loopP99Ms.toFixed(1)} ms, ${r.over20} blocks > 20 ms (${r.cpu?.runningOver20 ?? '?'} on CPU, longest on CPU ${r.cpu?.longestMs.toFixed(1) ?? '?'} ms), GC max ${r.gcMaxMs.toFixed(1)} ms; ${r.captions} captions; model → viewer p50 ${r.model.p50} p95 ${r.model.p95} ms`,
          );
        } finally {
          await server.close();
        }
      }
    }
  } finally {
    await releaseCaptioner(EMBEDDED_CAPTIONER);
    await rm(media, { recursive: true, force: true });
  }
  console.log(`\n${machineLine()}; one 160×120 stream at 10 fps, ${seconds} s per run\n`);
  console.log(
    '| path | viewers | loop max ms | loop p99 ms | blocks > 20 ms | of them on CPU | longest on-CPU block ms | longest GC ms | captions | delivered | model → viewer p50 ms | p95 ms | p99 ms |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results)
    console.log(
      `| ${r.path} | ${r.viewers} | ${r.loopMaxMs.toFixed(1)} | ${r.loopP99Ms.toFixed(1)} | ${r.over20} | ${r.cpu?.runningOver20 ?? '–'} | ${r.cpu?.longestMs.toFixed(1) ?? '–'} | ${r.gcMaxMs.toFixed(1)} | ${r.captions} | ${r.delivered} | ${r.model.p50} | ${r.model.p95} | ${r.model.p99} |`,
    );
  console.log('\ngoal: longest block ≤ 20 ms (on a shared machine, read the on-CPU columns: the loop delay also counts time the thread waited for a CPU)');
  return 0;
}

async function once(url: string, label: string, viewers: number, seconds: number, captions: () => number): Promise<RunResult> {
  const swarm = spawn(process.execPath, [fileURLToPath(new URL('./viewer-swarm.js', import.meta.url)), url, 'cam', String(viewers), '0', String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: swarm.stdout! })[Symbol.asyncIterator]();
  await lines.next(); // every viewer connected and subscribed
  await new Promise((r) => setTimeout(r, 500));
  const loop = monitorEventLoopDelay({ resolution: 1 });
  let gcMaxMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMaxMs = Math.max(gcMaxMs, e.duration);
  });
  const before = captions();
  gc.observe({ entryTypes: ['gc'] });
  loop.enable();
  const probe = cpuProbe(20);
  // Stop before the swarm hangs up: closing thousands of sockets is not ordinary work.
  await new Promise((r) => setTimeout(r, (seconds - 1.5) * 1000));
  loop.disable();
  gc.disconnect();
  const cpu = probe?.stop();
  const made = captions() - before;
  const report = JSON.parse(String((await lines.next()).value)) as { delivered: number; model: RunResult['model'] };
  await new Promise((resolve) => (swarm.exitCode === null ? swarm.once('exit', resolve) : resolve(undefined)));
  return {
    path: label,
    viewers,
    loopMaxMs: loop.max / 1e6,
    loopP99Ms: loop.percentile(99) / 1e6,
    over20: blocksOver(loop, 20),
    cpu,
    gcMaxMs,
    captions: made,
    delivered: report.delivered,
    model: report.model,
  };
}

function jpegCost(): { firstMs: number; meanMs: number; maxMs: number } {
  const frame = { width: 160, height: 120, data: new Uint8Array(160 * 120 * 3).map((_, i) => (i * 37) % 251) };
  const time = () => {
    const t = performance.now();
    encodeJpeg(frame, 80).toString('base64');
    return performance.now() - t;
  };
  const firstMs = time();
  const rest = Array.from({ length: 50 }, time);
  return { firstMs, meanMs: rest.reduce((a, b) => a + b, 0) / rest.length, maxMs: Math.max(...rest) };
}

/**
 * Every 2 ms, how long the main thread ran on a CPU since the last tick (its schedstat run time):
 * the longest such stretch is the longest block of livecap's own work, whatever else the
 * machine was doing. Undefined where /proc has no schedstat.
 */
function cpuProbe(thresholdMs: number): { stop(): { longestMs: number; runningOver20: number } } | undefined {
  const path = `/proc/self/task/${process.pid}/schedstat`;
  const ranNs = () => Number(readFileSync(path, 'utf8').split(' ')[0]);
  try {
    ranNs();
  } catch {
    return undefined;
  }
  let at = performance.now();
  let ran = ranNs();
  let longestMs = 0;
  let runningOver20 = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const r = ranNs();
    const ranMs = (r - ran) / 1e6;
    longestMs = Math.max(longestMs, ranMs);
    if (now - at > thresholdMs && ranMs > (now - at) / 2) runningOver20++;
    at = now;
    ran = r;
  }, 2);
  return {
    stop: () => {
      clearInterval(timer);
      return { longestMs, runningOver20 };
    },
  };
}

/** How many of the histogram's samples were delayed more than `ms` (each such sample is one long block). */
function blocksOver(loop: IntervalHistogram, ms: number): number {
  const over = [...loop.percentiles].filter(([, ns]) => ns > ms * 1e6).map(([p]) => p);
  if (over.length === 0) return 0;
  return Math.max(1, Math.round((loop.count * (100 - Math.min(...over))) / 100));
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await run(process.argv.slice(2));
