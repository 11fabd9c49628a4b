/**
 * Viewers benchmark: do viewers that stop reading hurt the others, or the server's memory?
 *
 * The real server (hub, WebSocket sockets) broadcasts captions of a set size (--bytes; 4,000
 * by default, as large as captions were when they carried their keyframe inline)
 * at a fixed rate to 1,000 viewers in another process. The baseline run, in the same
 * benchmark, has only the healthy viewers; the loaded run adds viewers that subscribe and
 * never read (10% of them). Reported: the healthy viewers' delivery latency (caption `ts` →
 * arrival) in both runs and its p95 ratio (target ≤ 1.2), the server's peak memory, and how
 * many slow viewers the hub dropped (close 4008 once over 1 MiB is queued for one).
 *
 *   livecap bench viewers [--viewers 1000] [--slow 0.1] [--rate 20] [--bytes 4000] [--seconds 30] [--rounds 2]
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { numberFlag, parseFlags, wantsHelp } from '../src/util/flags.js';
import { startServer } from '../src/stream/server.js';
import { acquireCaptioner, releaseCaptioner } from '../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../src/paths.js';
import { Progress } from '../src/util/progress.js';
import { machineLine } from './machine.js';
import type { CaptionMessage } from '../src/core/events.js';

interface RunResult {
  label: string;
  p50: number;
  p95: number;
  p99: number;
  delivered: number;
  peakRssMiB: number;
  peakHeapMiB: number;
  dropped: number;
}

const HELP = `usage: livecap bench viewers [--viewers 1000] [--slow 0.1] [--rate 20] [--bytes 4000] [--seconds 30] [--rounds 2]

  Do viewers that stop reading hurt the others? The healthy viewers' delivery latency with
  and without 10% slow viewers, the server's peak memory, and the slow viewers dropped.`;

export async function run(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, {
    viewers: { type: 'string' },
    slow: { type: 'string' },
    rate: { type: 'string' },
    bytes: { type: 'string' },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
  });
  const viewers = numberFlag('viewers', values.viewers, 1000);
  const slowShare = numberFlag('slow', values.slow, 0.1);
  const rate = numberFlag('rate', values.rate, 20);
  const bytes = numberFlag('bytes', values.bytes, 4000);
  const seconds = numberFlag('seconds', values.seconds, 30);
  const rounds = numberFlag('rounds', values.rounds, 2);
  const slow = Math.round(viewers * slowShare);
  const healthy = viewers - slow;

  const server = await startServer({ host: '127.0.0.1', port: 0, captioner: await acquireCaptioner(EMBEDDED_CAPTIONER), pipeline: { output: { width: 160, height: 120, fps: 1 } } });
  // A stream to subscribe to; its source never starts (the captions come from the loop below).
  server.addSource('load', { kind: 'file', input: '/nonexistent/load.mp4', loop: false }, 'load');
  const text = 'a large red circle on the grass in the middle ' + 'a'.repeat(Math.max(0, bytes - 160));
  let seq = 0;

  const once = async (label: string, slowViewers: number): Promise<RunResult> => {
    const droppedBefore = server.hub.stats.droppedViewers;
    const swarm = spawn(process.execPath, [fileURLToPath(new URL('./viewer-swarm.js', import.meta.url)), server.url, 'load', String(healthy), String(slowViewers), String(seconds)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: swarm.stdout! });
    const messages = lines[Symbol.asyncIterator]();
    await messages.next(); // ready
    let peakRss = 0;
    let peakHeap = 0;
    const bar = new Progress({ label, total: seconds * rate });
    const timer = setInterval(() => {
      const now = Date.now();
      const m: CaptionMessage = { type: 'caption', stream: 'load', seq: ++seq, ts: now, frameTs: now - 40, text, latencyMs: 40 };
      server.hub.broadcast(m);
      const mem = process.memoryUsage();
      peakRss = Math.max(peakRss, mem.rss);
      peakHeap = Math.max(peakHeap, mem.heapUsed);
      bar.tick();
    }, 1000 / rate);
    const report = JSON.parse(String((await messages.next()).value)) as { delivered: number; p50: number; p95: number; p99: number };
    clearInterval(timer);
    bar.finish();
    await new Promise((resolve) => swarm.once('exit', resolve));
    return {
      label,
      p50: report.p50,
      p95: report.p95,
      p99: report.p99,
      delivered: report.delivered,
      peakRssMiB: peakRss / 2 ** 20,
      peakHeapMiB: peakHeap / 2 ** 20,
      dropped: server.hub.stats.droppedViewers - droppedBefore,
    };
  };

  const results: RunResult[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      results.push(await once(`round ${r + 1}: ${healthy} healthy viewers (baseline)`, 0));
      results.push(await once(`round ${r + 1}: ${healthy} healthy + ${slow} never reading`, slow));
    }
  } finally {
    await server.close();
    await releaseCaptioner(EMBEDDED_CAPTIONER);
  }
  console.log(`\n${machineLine()}; ${rate} captions/s of ${bytes} bytes for ${seconds} s per run\n`);
  console.log('| run | delivered | p50 ms | p95 ms | p99 ms | peak RSS MiB | peak heap MiB | slow viewers dropped |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const x of results) console.log(`| ${x.label} | ${x.delivered} | ${x.p50} | ${x.p95} | ${x.p99} | ${x.peakRssMiB.toFixed(0)} | ${x.peakHeapMiB.toFixed(0)} | ${x.dropped} |`);
  const ratios = results.filter((_, i) => i % 2 === 1).map((x, i) => x.p95 / Math.max(1, results[2 * i]!.p95));
  console.log(`\nhealthy viewers' p95 with the slow ones / without: ${ratios.map((r) => `×${r.toFixed(2)}`).join(', ')} (target ≤ 1.2)`);
  return 0;
}
