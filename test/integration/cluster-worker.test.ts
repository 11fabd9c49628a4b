/**
 * Workers sharing streams on a real redis-server, in one process: an even spread, a stream moving
 * to the other worker when one dies (its lease runs out) or is paused past its lease (its next
 * append is refused and it stops), streams removed from the cluster stopping, and a clean stop
 * handing streams over at once. Each "running stream" appends an event every 50 ms with its lease,
 * as a pipeline does.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import type { RedisClientType } from '@redis/client';
import { redisWithClient, type RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/processes.js';
import { clusterKeys } from '../../src/cluster/keys.js';
import { EventLog, FencedError } from '../../src/cluster/event-log.js';
import { StreamRegistry } from '../../src/cluster/registry.js';
import { ClusterWorker, liveNodes, type ClusterWorkerOptions } from '../../src/cluster/worker.js';
import type { Lease } from '../../src/cluster/leases.js';

const keys = clusterKeys('test:');
let server: RedisServer;
let redis: RedisClientType;
const workers: ClusterWorker[] = [];

before(async () => {
  ({ server, redis } = await redisWithClient());
});

after(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
  for (const a of running.values()) a.stop('the tests are over');
  redis?.destroy();
  await server?.close();
});

beforeEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
  for (const a of running.values()) a.stop('the test is over');
  running.clear();
  await redis.sendCommand(['FLUSHDB']);
});

/** A stream that appends an event every 50 ms with its lease until stopped or fenced; `paused` freezes it. */
class Appender {
  stopped: string | undefined;
  paused = false;
  fenced = false;
  private timer: NodeJS.Timeout;
  private busy = false;

  constructor(
    readonly id: string,
    readonly lease: Lease,
    private readonly lost: (reason: string) => void,
  ) {
    const log = new EventLog(redis, keys);
    this.timer = setInterval(async () => {
      if (this.paused || this.busy || this.stopped) return;
      this.busy = true;
      try {
        const seq = (await log.lastSeq(id)) + 1;
        await log.append(lease, { seq, type: 'caption', ts: Date.now(), json: JSON.stringify({ seq, node: lease.node }) }, 10_000);
      } catch (err) {
        if (err instanceof FencedError) {
          this.fenced = true;
          this.lost('fenced');
        }
      } finally {
        this.busy = false;
      }
    }, 50);
  }

  stop(reason: string) {
    this.stopped = reason;
    clearInterval(this.timer);
  }
}

const running = new Map<string, Appender>();

function worker(node: string, options: Partial<ClusterWorkerOptions> = {}): ClusterWorker {
  const w = new ClusterWorker(redis, keys, {
    node,
    role: 'worker',
    capacity: 10,
    captioners: ['embedded'],
    leaseMs: 1_000,
    tickMs: 200,
    rebalanceMs: 1_000,
    run: (id, _registration, lease, lost) => {
      const a = new Appender(id, lease, lost);
      running.set(`${node}/${id}`, a);
      return { stop: (reason) => a.stop(reason), info: () => ({ state: 'live' }) };
    },
    ...options,
  });
  workers.push(w);
  w.start();
  return w;
}

async function register(...ids: string[]) {
  const registry = new StreamRegistry(redis, keys);
  for (const id of ids) assert.equal(await registry.add(id, { url: `testsrc://${id}`, added: Date.now(), origin: 'api' }), true);
}

/** Every stream's events: seqs 1..n with no gap or repeat, and the nodes that wrote them, in order. */
async function writers(id: string): Promise<string[]> {
  const entries = await new EventLog(redis, keys).after(id, 0, 100_000);
  entries.forEach((e, k) => assert.equal(e.seq, k + 1, `${id}: seq ${e.seq} at position ${k + 1}`));
  return entries.map((e) => e.node).filter((n, k, all) => k === 0 || all[k - 1] !== n);
}

test('two workers spread six streams three and three, and a stream asking for a captioner a worker lacks goes to one that has it', async () => {
  await register('s1', 's2', 's3', 's4', 's5');
  const a = worker('a');
  const b = worker('b', { captioners: ['embedded', 'florence'] });
  await new StreamRegistry(redis, keys).add('special', { url: 'testsrc://x', captioner: 'florence', added: Date.now(), origin: 'api' });
  await waitFor('3 and 3', () => a.streams().length === 3 && b.streams().length === 3, 10_000);
  assert.ok(b.streams().includes('special'));
  // Their heartbeats say so too, within a beat.
  const nodes = await waitFor('heartbeats of 3 and 3', async () => {
    const live = await liveNodes(redis, keys);
    return live.length === 2 && live.every((n) => n.streams.length === 3) && live;
  });
  assert.deepEqual(nodes.map((n) => n.node).sort(), ['a', 'b']);
});

test('a worker that dies loses its streams to the other within the lease, and seq carries on', async () => {
  await register('s1', 's2');
  const a = worker('a', { capacity: 2 });
  await waitFor('a runs both', () => a.streams().length === 2, 5_000);
  const b = worker('b', { capacity: 2 });
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(b.streams().length, 0, 'b waits while a holds them');
  // a dies: its timers stop and nothing is released.
  (a as unknown as { closed: boolean }).closed = true;
  for (const t of (a as unknown as { timers: NodeJS.Timeout[] }).timers) clearTimeout(t);
  for (const id of a.streams()) running.get(`a/${id}`)!.paused = true;
  const died = Date.now();
  await waitFor('b runs both', () => b.streams().length === 2, 5_000);
  const took = Date.now() - died;
  assert.ok(took <= 1_000 + 3 * 200 + 500, `taken over in ${took} ms`);
  await new Promise((r) => setTimeout(r, 300));
  for (const id of ['s1', 's2']) assert.deepEqual(await writers(id), ['a', 'b']);
});

test('a worker paused past its lease writes nothing more once another holds the stream, and stops it', async () => {
  await register('s1');
  const a = worker('a');
  await waitFor('a runs s1', () => a.streams().includes('s1'), 5_000);
  await waitFor('a appended', async () => (await new EventLog(redis, keys).lastSeq('s1')) >= 2, 5_000);
  const appender = running.get('a/s1')!;
  // Paused: no renewals, no appends (a long GC or SIGSTOP) for longer than the lease.
  const timers = (a as unknown as { timers: NodeJS.Timeout[] }).timers;
  for (const t of timers) clearTimeout(t);
  appender.paused = true;
  const b = worker('b');
  await waitFor('b runs s1', () => b.streams().includes('s1'), 5_000);
  await new Promise((r) => setTimeout(r, 200));
  // a wakes up and carries on appending as if nothing happened.
  appender.paused = false;
  await waitFor('a is fenced', () => appender.fenced, 2_000);
  await waitFor('a gives s1 up', () => !a.streams().includes('s1'), 2_000);
  assert.equal(appender.stopped, 'fenced');
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(await writers('s1'), ['a', 'b'], 'nothing from a after b began');
});

test('a stream removed from the cluster stops; a clean stop hands streams over at once', async () => {
  await register('s1', 's2');
  const a = worker('a');
  await waitFor('a runs both', () => a.streams().length === 2, 5_000);
  await new StreamRegistry(redis, keys).remove('s1');
  await waitFor('s1 stops', () => !a.streams().includes('s1'), 2_000);
  assert.equal(running.get('a/s1')?.stopped !== undefined, true);
  const b = worker('b', { tickMs: 100 });
  await new Promise((r) => setTimeout(r, 300));
  const stopping = Date.now();
  await a.close();
  await waitFor('b runs s2', () => b.streams().includes('s2'), 2_000);
  assert.ok(Date.now() - stopping < 800, 'no wait for the lease to run out');
});

test('a worker with more than its share gives streams up, one at a time, to a new worker', async () => {
  await register('s1', 's2', 's3', 's4');
  const a = worker('a');
  await waitFor('a runs all four', () => a.streams().length === 4, 5_000);
  const b = worker('b');
  await waitFor('two and two', () => a.streams().length === 2 && b.streams().length === 2, 8_000);
  for (const id of ['s1', 's2', 's3', 's4']) {
    const w = await writers(id);
    assert.ok(w.length <= 2, `${id} moved at most once: ${w}`);
  }
});

/** A web node's worker (it runs nothing), not started. */
const webNode = (node: string) =>
  new ClusterWorker(redis, keys, { node, role: 'web', capacity: 0, captioners: [], leaseMs: 1_000, tickMs: 200, rebalanceMs: 1_000, run: () => assert.fail('a web node runs nothing') });

test('a node id is claimed: a second node under a live one’s id is refused, naming it; a dead node’s id is free once its heartbeat runs out', async () => {
  const first = worker('same');
  await waitFor('the first beats', async () => (await liveNodes(redis, keys)).some((n) => n.node === 'same'), 5_000);
  const second = webNode('same');
  await assert.rejects(second.claim(), /node id 'same' is in use: a live worker node beats under it \(last heartbeat \d+\.\d s ago\); give each node its own --node-id/);
  // The first dies: its timers stop and its heartbeat is left to run out.
  (first as unknown as { closed: boolean }).closed = true;
  for (const t of (first as unknown as { timers: NodeJS.Timeout[] }).timers) clearTimeout(t);
  const died = Date.now();
  await second.claim();
  const waited = Date.now() - died;
  assert.ok(waited <= 1_000 + 300, `claimed ${waited} ms after the first died`);
  // A node that stops cleanly frees its id at once.
  const third = worker('clean');
  await waitFor('it beats', async () => (await liveNodes(redis, keys)).some((n) => n.node === 'clean'), 5_000);
  await third.close();
  const started = Date.now();
  await webNode('clean').claim();
  assert.ok(Date.now() - started < 200, 'at once');
});
