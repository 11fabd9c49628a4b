/**
 * The viewers of the viewers benchmark, in a process of their own so that they do not share
 * the server's event loop: `healthy` viewers read everything and time each caption from its
 * `ts` to its arrival; `slow` viewers subscribe and then never read again (their sockets are
 * paused, so the server's queue for them only grows). Prints one JSON report on stdout.
 *
 *   node dist/bench/viewer-swarm.js URL STREAM HEALTHY SLOW SECONDS
 * Reports the healthy viewers' latency percentiles (ms) and how many captions they got, and
 * (`model`) the time from the model's answer (the caption's `frameTs + latencyMs`) to arrival.
 */
import WebSocket from 'ws';
import { percentile } from './machine.js';

const [url, stream, healthyArg, slowArg, secondsArg] = process.argv.slice(2);
const healthy = Number(healthyArg);
const slow = Number(slowArg);
const seconds = Number(secondsArg);

const fromModel: number[] = [];

function open(read: boolean, latencies: number[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url!.replace('http', 'ws')}/ws`);
    ws.once('error', reject);
    ws.once('open', () => {
      ws.send(JSON.stringify({ type: 'subscribe', streams: [stream] }));
      if (read) {
        ws.on('message', (data) => {
          const m = JSON.parse(data.toString()) as { type: string; ts?: number; frameTs?: number; latencyMs?: number };
          if (m.type !== 'caption' || !m.ts) return;
          const now = Date.now();
          latencies.push(now - m.ts);
          if (m.frameTs !== undefined && m.latencyMs !== undefined) fromModel.push(now - (m.frameTs + m.latencyMs));
        });
      } else {
        // Never read again: whatever the server sends piles up in the kernel and then in its queue.
        setTimeout(() => (ws as unknown as { _socket: { pause(): void } })._socket.pause(), 50);
      }
      resolve(ws);
    });
  });
}

const latencies: number[] = [];
const sockets: WebSocket[] = [];
// Connect in batches, so the listen backlog is not the thing measured.
const all = [...Array(healthy).fill(true), ...Array(slow).fill(false)] as boolean[];
for (let i = 0; i < all.length; i += 50) sockets.push(...(await Promise.all(all.slice(i, i + 50).map((read) => open(read, latencies)))));
process.stdout.write(JSON.stringify({ type: 'ready' }) + '\n');
await new Promise((r) => setTimeout(r, seconds * 1000));
for (const ws of sockets) ws.terminate();
const sorted = latencies.sort((a, b) => a - b);
const at = (p: number) => percentile(sorted, p);
// Exit only once the report is written: a pipe write is asynchronous.
const model = fromModel.sort((a, b) => a - b);
const report = { type: 'report', delivered: sorted.length, p50: at(50), p95: at(95), p99: at(99), model: { p50: percentile(model, 50), p95: percentile(model, 95), p99: percentile(model, 99) } };
process.stdout.write(JSON.stringify(report) + '\n', () => process.exit(0));
