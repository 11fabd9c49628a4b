/**
 * Soak: the real server with several streams and WebSocket viewers, left running for N
 * minutes, sampled every few seconds: process memory (RSS, heap), event-loop delay (p99 over
 * the interval), caption latency (frame captured → caption made) and delivery latency
 * (caption made → viewer got it), captions made and viewers connected. A line per sample is
 * printed; soak.csv and soak.png (the curves over time) are written to --out.
 *
 *   npm run soak -- --minutes 60 [--streams 3] [--viewers 50] [--every 5] [--out soak-output]
 *
 * Everything runs on 127.0.0.1 and stops by itself when the time is up. Memory that keeps
 * rising over a long run, or delay that drifts up, is what to look for.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { numberFlag, parseFlags, wantsHelp } from '../src/util/flags.js';
import WebSocket from 'ws';
import { startServer } from '../src/stream/server.js';
import { acquireCaptioner, releaseCaptioner } from '../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../src/paths.js';
import { videoScript, writeVideo } from '../src/synth/video.js';
import { renderChart } from '../src/plot/line-chart.js';
import { machineLine, percentile } from './machine.js';

interface Sample {
  minute: number;
  rssMiB: number;
  heapMiB: number;
  loopP99Ms: number;
  captionP95Ms: number;
  deliveryP95Ms: number;
  captions: number;
  viewers: number;
}

const HELP = `usage: livecap bench soak [--minutes 10] [--streams 3] [--viewers 50] [--every 5] [--out soak-output]

  The real server with several streams and WebSocket viewers for N minutes: memory,
  event-loop delay and latencies sampled over time, written to --out as CSV and a chart.`;

export async function run(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, { minutes: { type: 'string' }, streams: { type: 'string' }, viewers: { type: 'string' }, every: { type: 'string' }, out: { type: 'string' } });
  const minutes = numberFlag('minutes', values.minutes, 10);
  const streamCount = numberFlag('streams', values.streams, 3);
  const viewerCount = numberFlag('viewers', values.viewers, 50);
  const everyMs = numberFlag('every', values.every, 5) * 1000;
  const out = values.out ?? 'soak-output';
  if (!(minutes > 0) || !(streamCount > 0) || !(viewerCount >= 0) || !(everyMs > 0)) throw new Error('soak: --minutes, --streams, --every must be above 0 and --viewers at least 0');
  await mkdir(out, { recursive: true });

  const media = await mkdtemp(join(tmpdir(), 'livecap-soak-'));
  for (let i = 0; i < streamCount; i++) await writeVideo(videoScript(500 + i, { duration: 30, width: 160, height: 120, fps: 10 }), join(media, `cam${i + 1}.mp4`));
  const server = await startServer({ host: '127.0.0.1', port: 0, mediaDir: media, captioner: await acquireCaptioner(EMBEDDED_CAPTIONER), pipeline: { output: { width: 160, height: 120, fps: 10 } } });
  const ids = Array.from({ length: streamCount }, (_, i) => `cam${i + 1}`);
  for (const id of ids) server.manager!.add(id, `${id}.mp4`);

  let captionLatencies: number[] = [];
  let deliveries: number[] = [];
  const sockets: WebSocket[] = [];
  for (let v = 0; v < viewerCount; v++) {
    const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws');
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { type: string; ts?: number; latencyMs?: number };
      if (m.type !== 'caption' || !m.ts) return;
      deliveries.push(Date.now() - m.ts);
      if (v === 0) captionLatencies.push(m.latencyMs ?? 0);
    });
    ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', streams: [ids[v % ids.length]] })));
    ws.on('error', () => {});
    sockets.push(ws);
  }

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const started = Date.now();
  const samples: Sample[] = [];
  const csv = ['minute,rss_mib,heap_mib,loop_p99_ms,caption_p95_ms,delivery_p95_ms,captions,viewers'];
  console.log(`soak: ${streamCount} streams, ${viewerCount} viewers, ${minutes} min, a sample every ${everyMs / 1000} s → ${out}/`);
  while (Date.now() - started < minutes * 60_000) {
    await new Promise((r) => setTimeout(r, everyMs));
    const mem = process.memoryUsage();
    const p95 = (xs: number[]) =>
      xs.length
        ? percentile(
            [...xs].sort((a, b) => a - b),
            95,
          )
        : NaN;
    const s: Sample = {
      minute: (Date.now() - started) / 60_000,
      rssMiB: mem.rss / 2 ** 20,
      heapMiB: mem.heapUsed / 2 ** 20,
      loopP99Ms: loop.percentile(99) / 1e6,
      captionP95Ms: p95(captionLatencies),
      deliveryP95Ms: p95(deliveries),
      captions: server.streams.list().reduce((n, x) => n + x.counters.captions, 0),
      viewers: server.hub.stats.viewers,
    };
    loop.reset();
    captionLatencies = [];
    deliveries = [];
    samples.push(s);
    const row = [s.minute.toFixed(2), s.rssMiB.toFixed(1), s.heapMiB.toFixed(1), s.loopP99Ms.toFixed(1), s.captionP95Ms.toFixed(0), s.deliveryP95Ms.toFixed(1), s.captions, s.viewers];
    csv.push(row.join(','));
    console.log(`${row[0]} min  rss ${row[1]} MiB  heap ${row[2]} MiB  loop p99 ${row[3]} ms  caption p95 ${row[4]} ms  delivery p95 ${row[5]} ms  captions ${row[6]}  viewers ${row[7]}`);
    await writeFile(join(out, 'soak.csv'), csv.join('\n') + '\n');
    await writeFile(join(out, 'soak.png'), chart(samples));
  }
  loop.disable();
  for (const ws of sockets) ws.close();
  await server.close();
  await releaseCaptioner(EMBEDDED_CAPTIONER);
  await rm(media, { recursive: true, force: true });

  const first = samples[Math.min(samples.length - 1, Math.floor(samples.length / 4))]!;
  const last = samples.at(-1)!;
  console.log(`\n${machineLine()}`);
  console.log(`memory: RSS ${first.rssMiB.toFixed(0)} → ${last.rssMiB.toFixed(0)} MiB, heap ${first.heapMiB.toFixed(0)} → ${last.heapMiB.toFixed(0)} MiB (from a quarter in to the end)`);
  console.log(
    `event-loop p99: worst ${Math.max(...samples.map((x) => x.loopP99Ms)).toFixed(1)} ms; delivery p95: worst ${Math.max(...samples.map((x) => x.deliveryP95Ms).filter(Number.isFinite)).toFixed(1)} ms; ${last.captions} captions`,
  );
  console.log(`wrote ${join(out, 'soak.csv')} and ${join(out, 'soak.png')}`);
  return 0;
}

function chart(samples: Sample[]): Buffer {
  const line = (name: string, pick: (s: Sample) => number) => ({ name, points: samples.filter((s) => Number.isFinite(pick(s))).map((s) => [s.minute, pick(s)] as const) });
  return renderChart([
    { title: 'memory', xLabel: 'minutes', yLabel: 'MiB', series: [line('RSS', (s) => s.rssMiB), line('heap', (s) => s.heapMiB)] },
    {
      title: 'latency',
      xLabel: 'minutes',
      yLabel: 'ms',
      series: [line('event loop p99', (s) => s.loopP99Ms), line('delivery p95', (s) => s.deliveryP95Ms), line('caption p95', (s) => s.captionP95Ms)],
    },
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await run(process.argv.slice(2));
