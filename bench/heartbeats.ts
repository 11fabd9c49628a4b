/**
 * Heartbeats benchmark: several static streams share one captioner worker; each re-captions its
 * still picture every `--gap` seconds (the heartbeat). With every stream in the same phase the
 * heartbeats reach the worker together and wait for each other; with livecap's per-stream
 * phases they come one at a time. Baseline in the same run: the same streams with every
 * heartbeat phase forced to 0 (the old behaviour). Reported: capture → model answer latency of
 * the heartbeat captions (p50, p95, max).
 *
 *   livecap bench heartbeats [--streams 4] [--seconds 60] [--gap 3] [--size 1280x720]
 *
 * Everything runs on 127.0.0.1 and stops by itself.
 */
import { parseArgs } from 'node:util';
import { startServer } from '../src/stream/server.js';
import { acquireCaptioner, releaseCaptioner } from '../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../src/paths.js';
import type { RawFrame } from '../src/ingest/ffmpeg-frames.js';
import { machineLine, percentile } from './machine.js';
import type { Frame } from '../src/core/frame.js';

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { streams: { type: 'string' }, seconds: { type: 'string' }, gap: { type: 'string' }, size: { type: 'string' } } });
  const streams = Number(values.streams ?? 4);
  const seconds = Number(values.seconds ?? 60);
  const gap = Number(values.gap ?? 3);
  const [width, height] = (values.size ?? '1280x720').split('x').map(Number) as [number, number];
  if (!(streams >= 1 && seconds >= 5 && gap > 0 && width >= 16 && height >= 16)) throw new Error('bench heartbeats: --streams ≥ 1, --seconds ≥ 5, --gap > 0, --size WxH');
  const model = await acquireCaptioner(EMBEDDED_CAPTIONER);
  const rows: { label: string; n: number; p50: number; p95: number; max: number }[] = [];
  try {
    for (const [label, phase] of [
      ['all in one phase (before)', 0],
      ['a phase per stream (after)', undefined],
    ] as const) {
      const latencies: number[] = [];
      let measuring = false;
      const captioner = {
        caption: async (frame: Frame) => {
          const caption = await model.caption(frame);
          if (measuring) latencies.push(Date.now() - (frame as RawFrame).capturedAt);
          return caption;
        },
      };
      const server = await startServer({
        host: '127.0.0.1',
        port: 0,
        captioner,
        pipeline: { output: { width, height, fps: 5 }, gate: { maxGapSec: gap, ...(phase === undefined ? {} : { heartbeatPhase: phase }) }, thumbnails: false },
      });
      try {
        for (let i = 0; i < streams; i++) server.manager!.add(`cam${i + 1}`, 'testsrc://smptebars');
        // Past every stream's start keyframe.
        await new Promise((r) => setTimeout(r, 2 * gap * 1000));
        measuring = true;
        await new Promise((r) => setTimeout(r, seconds * 1000));
        measuring = false;
      } finally {
        await server.close();
      }
      const sorted = latencies.sort((a, b) => a - b);
      rows.push({ label, n: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted.at(-1) ?? NaN });
      console.log(`${label}: ${sorted.length} heartbeat captions, p50 ${rows.at(-1)!.p50} ms, p95 ${rows.at(-1)!.p95} ms`);
    }
  } finally {
    await releaseCaptioner(EMBEDDED_CAPTIONER);
  }
  console.log(`\n${machineLine()}; ${streams} still ${width}×${height} streams at 5 fps, a heartbeat every ${gap} s, ${seconds} s per run\n`);
  console.log('| heartbeats | captions | p50 ms | p95 ms | max ms |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.label} | ${r.n} | ${r.p50} | ${r.p95} | ${r.max} |`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await run(process.argv.slice(2));
