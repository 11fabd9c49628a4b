/**
 * The clients of the hostile benchmark, in a process of their own so that their work is not
 * counted on the server's event loop. One healthy viewer follows `cam0` live and times each
 * caption from its `ts` to its arrival. With `hostile`, alongside it:
 *
 * - replayers: WebSocket clients that each send one subscribe naming every stream 64 times
 *   from seq 0 and 40 more subscribes from 0, read what comes, and reconnect to do it again;
 * - searchers: clients that search for `a` (which matches every caption) back to back;
 * - SSE clients that resume from seq 0 and never read.
 *
 *   node dist/bench/hostile-clients.js URL SECONDS idle|hostile REPLAYERS SEARCHERS SSE
 * Prints one JSON report on stdout.
 */
import { request } from 'node:http';
import WebSocket from 'ws';
import { percentile } from './machine.js';

const [url, secondsArg, mode, replayersArg, searchersArg, sseArg] = process.argv.slice(2) as [string, string, string, string, string, string];
const STREAMS = ['cam0', 'cam1', 'cam2', 'cam3'];
const end = Date.now() + Number(secondsArg) * 1000;
const wsUrl = `${url.replace('http', 'ws')}/ws`;

function healthyViewer(latencies: number[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    ws.once('error', reject);
    ws.once('open', () => {
      ws.send(JSON.stringify({ type: 'subscribe', streams: ['cam0'] }));
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString()) as { type: string; ts?: number };
        if (m.type === 'caption' && m.ts) latencies.push(Date.now() - m.ts);
      });
      resolve(ws);
    });
  });
}

const replay = { connections: 0, bytes: 0, events: 0, refusals: 0, gaps: 0, dropped: 0 };

/** One hostile WebSocket visit: everything from 0, many times over, until every subscribe was answered. */
function replayVisit(): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl);
    const since = Object.fromEntries(STREAMS.map((s) => [s, 0]));
    const expected = 41 * STREAMS.length;
    let gaps = 0;
    const done = () => {
      ws.terminate();
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, end - Date.now()));
    ws.once('error', () => {});
    ws.once('close', (code) => {
      if (code === 4008) replay.dropped++;
      clearTimeout(timer);
      resolve();
    });
    ws.once('open', () => {
      replay.connections++;
      ws.send(JSON.stringify({ type: 'subscribe', streams: STREAMS.flatMap((s) => Array(64).fill(s)), since }));
      for (let i = 0; i < 40; i++) ws.send(JSON.stringify({ type: 'subscribe', streams: STREAMS, since }));
    });
    ws.on('message', (data) => {
      const text = data.toString();
      const m = JSON.parse(text) as { type: string; code?: string };
      if (m.type === 'caption' || m.type === 'summary') {
        replay.events++;
        replay.bytes += text.length;
      } else if (m.type === 'error' && m.code === 'replay_budget') replay.refusals++;
      else if (m.type === 'gap') {
        replay.gaps++;
        if (++gaps === expected) {
          clearTimeout(timer);
          done();
        }
      }
    });
  });
}

async function replayer(): Promise<void> {
  while (Date.now() < end) await replayVisit();
}

const search = { ok: 0, busy: 0, other: 0, ms: [] as number[] };
async function searcher(): Promise<void> {
  while (Date.now() < end) {
    const t = performance.now();
    const res = await fetch(`${url}/api/search?q=a`).catch(() => undefined);
    await res?.arrayBuffer();
    if (res?.status === 200) {
      search.ok++;
      search.ms.push(performance.now() - t);
    } else if (res?.status === 429) {
      search.busy++;
      await new Promise((r) => setTimeout(r, 100));
    } else search.other++;
  }
}

const sse = { open: 0, refused: 0 };
/** An SSE client that resumes from 0 and then never reads. */
function silentSse(): Promise<() => void> {
  return new Promise((resolve) => {
    const req = request(`${url}/api/streams/cam0/events`, { headers: { 'last-event-id': '0' } }, (res) => {
      if (res.statusCode === 200) sse.open++;
      else sse.refused++;
      res.pause();
      resolve(() => req.destroy());
    });
    req.on('error', () => resolve(() => {}));
    req.end();
  });
}

const latencies: number[] = [];
const viewer = await healthyViewer(latencies);
const work: Promise<unknown>[] = [];
let closers: (() => void)[] = [];
if (mode === 'hostile') {
  closers = await Promise.all(Array.from({ length: Number(sseArg) }, silentSse));
  for (let i = 0; i < Number(replayersArg); i++) work.push(replayer());
  for (let i = 0; i < Number(searchersArg); i++) work.push(searcher());
}
await new Promise((r) => setTimeout(r, Math.max(0, end - Date.now())));
await Promise.all(work);
for (const close of closers) close();
viewer.terminate();
const sorted = latencies.sort((a, b) => a - b);
const searchMs = search.ms.sort((a, b) => a - b);
const report = {
  healthy: { delivered: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN },
  replay,
  search: { ok: search.ok, busy: search.busy, other: search.other, p50: percentile(searchMs, 50), max: searchMs.at(-1) ?? NaN },
  sse,
};
// Exit only once the report is written: a pipe write is asynchronous.
process.stdout.write(JSON.stringify(report) + '\n', () => process.exit(0));
