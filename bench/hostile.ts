/**
 * Hostile-clients benchmark: can clients that replay and search as hard as they can freeze
 * the server that holds a long history?
 *
 * The real server opens a history of `--events` events (1,000,000 by default: four streams,
 * captions of about 300 bytes of JSON with their keyframe's URL, a summary every 20th),
 * built once by transactional inserts straight into the store. A live caption is published on
 * `cam0` every 200 ms and a healthy viewer (in the client process) follows it. The baseline
 * run has only that viewer (the server idle); the hostile run adds WebSocket clients that
 * subscribe from seq 0 with repeated ids and dozens of subscribes, back to back, concurrent
 * searches for `a`, and SSE clients that resume from 0 and never read (see hostile-clients.ts).
 * Reported per run: the server's longest event-loop block (perf_hooks monitorEventLoopDelay,
 * target ≤ 50 ms under attack) and its p99; the same longest block in CPU time (a 2 ms probe
 * that also reads process.cpuUsage(): on a shared machine a process that is descheduled looks
 * blocked by wall time but spends no CPU, so this is the part that is the server's own work);
 * the healthy viewer's delivery latency, what the hostile clients got, and the peak RSS.
 *
 *   livecap bench hostile [--events 1000000] [--seconds 20] [--rounds 2] [--history FILE] [--replayers 4] [--searchers 8] [--sse 40]
 * With --history FILE the history is kept there and reused by later runs.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startServer, type RunningServer } from '../src/stream/server.js';
import { HistoryStore } from '../src/store/history-store.js';
import { acquireCaptioner, releaseCaptioner } from '../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../src/paths.js';
import { Progress } from '../src/util/progress.js';
import { machineLine } from './machine.js';
import { intFlag, parseFlags, wantsHelp } from '../src/util/flags.js';
import { keyframeUrl, type CaptionMessage, type SequencedMessage } from '../src/core/events.js';

const STREAMS = ['cam0', 'cam1', 'cam2', 'cam3'];
const WORDS = [
  'red',
  'blue',
  'green',
  'yellow',
  'circle',
  'square',
  'triangle',
  'star',
  'large',
  'small',
  'on',
  'the',
  'grass',
  'sand',
  'sky',
  'snow',
  'at',
  'night',
  'left',
  'right',
  'middle',
  'two',
  'three',
];

function event(stream: string, seq: number, ts: number, i: number): SequencedMessage {
  const text = 'a ' + Array.from({ length: 9 }, (_, k) => WORDS[(i * 7 + k * 5 + (i >> 4)) % WORDS.length]).join(' ');
  if (i % 20 === 19) return { type: 'summary', stream, seq, ts, from: ts - 20_000, to: ts, text: `the video shows ${text} and then ${text}` };
  return { type: 'caption', stream, seq, ts, frameTs: ts - 180, text, latencyMs: 180, keyframeUrl: keyframeUrl(stream, seq) } satisfies CaptionMessage;
}

/** Fills the history file up to `events` (one transaction per 10,000), newest a second ago. */
function buildHistory(path: string, events: number): void {
  const store = new HistoryStore({ path });
  try {
    const have = store.count();
    if (have >= events) return;
    const bar = new Progress({ label: `history: ${events - have} events`, total: events - have });
    const seqs = STREAMS.map((s) => store.lastSeq(s));
    const start = Date.now() - events * 1000;
    for (let i = have; i < events; ) {
      const batch: SequencedMessage[] = [];
      for (const end = Math.min(events, i + 10_000); i < end; i++) batch.push(event(STREAMS[i % 4]!, ++seqs[i % 4]!, start + i * 1000, i));
      store.appendMany(batch);
      bar.tick(batch.length);
    }
    bar.finish();
  } finally {
    store.close();
  }
}

interface ClientReport {
  healthy: { delivered: number; p50: number; p99: number; max: number };
  replay: { connections: number; bytes: number; events: number; refusals: number; gaps: number; dropped: number };
  search: { ok: number; busy: number; other: number; p50: number; max: number };
  sse: { open: number; refused: number };
}

interface RunResult {
  label: string;
  maxBlockMs: number;
  p99Ms: number;
  maxCpuBlockMs: number;
  peakRssMiB: number;
  clients: ClientReport;
}

async function once(server: RunningServer, label: string, mode: 'idle' | 'hostile', seconds: number, counts: string[]): Promise<RunResult> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  let peakRss = 0;
  const rss = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);
  // The longest gap between two probe ticks, counted in the CPU time the process spent in it.
  let maxCpuBlock = 0;
  let last = { at: performance.now(), cpu: process.cpuUsage() };
  const probe = setInterval(() => {
    const now = { at: performance.now(), cpu: process.cpuUsage() };
    const used = process.cpuUsage(last.cpu);
    if (now.at - last.at > 2) maxCpuBlock = Math.max(maxCpuBlock, Math.min(now.at - last.at, (used.user + used.system) / 1000));
    last = now;
  }, 2);
  const clients = spawn(process.execPath, [fileURLToPath(new URL('./hostile-clients.js', import.meta.url)), server.url, String(seconds), mode, ...counts], { stdio: ['ignore', 'pipe', 'inherit'] });
  delay.enable();
  const lines = createInterface({ input: clients.stdout! })[Symbol.asyncIterator]();
  const report = JSON.parse(String((await lines.next()).value)) as ClientReport;
  delay.disable();
  clearInterval(rss);
  clearInterval(probe);
  await new Promise((resolve) => (clients.exitCode === null ? clients.once('exit', resolve) : resolve(undefined)));
  return { label, maxBlockMs: delay.max / 1e6, p99Ms: delay.percentile(99) / 1e6, maxCpuBlockMs: maxCpuBlock, peakRssMiB: peakRss / 2 ** 20, clients: report };
}

const HELP = `usage: livecap bench hostile [--events 1000000] [--seconds 20] [--rounds 2] [--history FILE] [--replayers 4] [--searchers 8] [--sse 40]

  The server's longest event-loop block while clients replay from seq 0 with repeated ids,
  search for 'a' concurrently and resume SSE from 0 without reading, over a history of
  --events events, against the same server idle. --history FILE keeps the history for reuse.`;

export async function run(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, {
    events: { type: 'string' },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    history: { type: 'string' },
    replayers: { type: 'string' },
    searchers: { type: 'string' },
    sse: { type: 'string' },
  });
  const events = intFlag('events', values.events, 1_000_000);
  const seconds = intFlag('seconds', values.seconds, 20);
  const rounds = intFlag('rounds', values.rounds, 2);
  const counts = [intFlag('replayers', values.replayers, 4), intFlag('searchers', values.searchers, 8), intFlag('sse', values.sse, 40)].map(String);
  const dir = values.history ? undefined : await mkdtemp(join(tmpdir(), 'livecap-hostile-'));
  const path = values.history ?? join(dir!, 'history.db');
  const built = Date.now();
  buildHistory(path, events);
  const buildSeconds = (Date.now() - built) / 1000;

  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    captioner: await acquireCaptioner(EMBEDDED_CAPTIONER),
    history: { path, maxEvents: Math.max(events, 1_000_000) },
    pipeline: { output: { width: 160, height: 120, fps: 1 } },
  });
  // Streams to subscribe to; their sources never start (the live captions come from the timer below).
  for (const id of STREAMS) server.addSource(id, { kind: 'file', input: `/nonexistent/${id}.mp4`, loop: false }, id);
  let i = events;
  const live = setInterval(() => {
    const m = { ...event('cam0', server.streams.store.lastSeq('cam0') + 1, Date.now(), i++), type: 'caption' } as CaptionMessage;
    server.streams.store.append(m);
    server.bus.publish(m);
  }, 200);
  const results: RunResult[] = [];
  try {
    for (let r = 1; r <= rounds; r++) {
      results.push(await once(server, `round ${r}: idle (baseline)`, 'idle', seconds, counts));
      results.push(await once(server, `round ${r}: ${counts[0]} replayers, ${counts[1]} searchers, ${counts[2]} silent SSE`, 'hostile', seconds, counts));
    }
  } finally {
    clearInterval(live);
    await server.close();
    await releaseCaptioner(EMBEDDED_CAPTIONER);
    if (dir) await rm(dir, { recursive: true, force: true });
  }
  console.log(`\n${machineLine()}; ${events} events of history (built in ${buildSeconds.toFixed(0)} s), ${seconds} s per run\n`);
  console.log(
    '| run | longest block ms | p99 block ms | longest block, CPU ms | healthy viewer: live captions, p50 / p99 / max ms | replayed (connections, MiB, refusals, dropped) | searches (ok, 429, p50 ms, max ms) | SSE open / 503 | peak RSS MiB |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  // A run with nothing to measure reports NaN, which JSON carries as null.
  const ms = (x: number | null) => (x === null || Number.isNaN(x) ? '–' : x.toFixed(0));
  for (const r of results) {
    const { healthy: h, replay: p, search: s, sse } = r.clients;
    console.log(
      `| ${r.label} | ${r.maxBlockMs.toFixed(0)} | ${r.p99Ms.toFixed(0)} | ${r.maxCpuBlockMs.toFixed(0)} | ${h.delivered}, ${ms(h.p50)} / ${ms(h.p99)} / ${ms(h.max)} | ${p.connections}, ${(p.bytes / 2 ** 20).toFixed(1)}, ${p.refusals}, ${p.dropped} | ${s.ok}, ${s.busy}, ${ms(s.p50)}, ${ms(s.max)} | ${sse.open} / ${sse.refused} | ${r.peakRssMiB.toFixed(0)} |`,
    );
  }
  const worst = (mode: number, key: 'maxBlockMs' | 'maxCpuBlockMs') => Math.max(...results.filter((_, i) => i % 2 === mode).map((r) => r[key]));
  console.log(
    `\nlongest event-loop block under attack: ${worst(1, 'maxBlockMs').toFixed(0)} ms wall, ${worst(1, 'maxCpuBlockMs').toFixed(0)} ms CPU (idle: ${worst(0, 'maxBlockMs').toFixed(0)} ms wall, ${worst(0, 'maxCpuBlockMs').toFixed(0)} ms CPU; target ≤ 50 ms)`,
  );
  return 0;
}
