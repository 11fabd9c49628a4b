/**
 * A web node's reader on a real redis-server: every entry once and in order, statuses included; a
 * stream added anywhere is read at once, not after the blocking read times out; a reader that
 * starts again from what it has misses nothing and repeats nothing; events trimmed while it was
 * away are reported as a gap.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import type { RedisClientType } from '@redis/client';
import { redisWithClient, type RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/processes.js';
import { clusterKeys } from '../../src/cluster/keys.js';
import { EventLog, type LogEntry } from '../../src/cluster/event-log.js';
import { Leases, type Lease } from '../../src/cluster/leases.js';
import { StreamRegistry } from '../../src/cluster/registry.js';
import { ClusterReader } from '../../src/cluster/reader.js';

const keys = clusterKeys('test:');
let server: RedisServer;
let redis: RedisClientType;
const readers: { reader: ClusterReader; client: RedisClientType }[] = [];

before(async () => {
  ({ server, redis } = await redisWithClient());
});

after(async () => {
  await Promise.all(readers.splice(0).map(async ({ reader, client }) => (await reader.stop(), client.destroy())));
  redis?.destroy();
  await server?.close();
});

beforeEach(async () => {
  await Promise.all(readers.splice(0).map(async ({ reader, client }) => (await reader.stop(), client.destroy())));
  await redis.sendCommand(['FLUSHDB']);
});

interface Seen {
  entries: Map<string, LogEntry[]>;
  gaps: string[];
  added: string[];
  removed: string[];
}

async function startReader(from: (id: string) => number = () => 0, seen: Seen = { entries: new Map(), gaps: [], added: [], removed: [] }) {
  const client = redis.duplicate();
  await client.connect();
  const reader = new ClusterReader(
    client,
    keys,
    new StreamRegistry(redis, keys),
    {
      entry: (id, e) => seen.entries.set(id, [...(seen.entries.get(id) ?? []), e]),
      gap: (id, a, b) => seen.gaps.push(`${id}:${a}-${b}`),
      added: (id) => seen.added.push(id),
      removed: (id) => seen.removed.push(id),
    },
    { blockMs: 2_000, count: 16 },
  );
  readers.push({ reader, client });
  await reader.start(from);
  return { reader, seen, stop: async () => (await reader.stop(), client.destroy()) };
}

async function stream(id: string): Promise<{ lease: Lease; append: (n?: number) => Promise<void>; status: (state: string) => Promise<void> }> {
  await new StreamRegistry(redis, keys).add(id, { url: 'testsrc://x', added: Date.now(), origin: 'api' });
  const lease = (await new Leases(redis, keys, 60_000).acquire(id, 'w'))!;
  const log = new EventLog(redis, keys);
  return {
    lease,
    append: async (n = 1) => {
      for (let k = 0; k < n; k++) {
        const seq = (await log.lastSeq(id)) + 1;
        await log.append(lease, { seq, type: 'caption', ts: Date.now(), json: JSON.stringify({ seq }) }, 100_000);
      }
    },
    status: async (state) => void (await log.append(lease, { type: 'status', ts: Date.now(), json: JSON.stringify({ state }) }, 100_000)),
  };
}

const seqs = (entries: LogEntry[] | undefined) => (entries ?? []).map((e) => (e.status ? `s${e.seq}` : e.seq));

test('entries of every stream arrive once and in order, statuses where they happened', async () => {
  const a = await stream('a');
  const b = await stream('b');
  await a.status('live');
  await a.append(40);
  const { seen, reader } = await startReader();
  await b.append(3);
  await a.status('reconnecting');
  await a.append(2);
  await reader.ready();
  await waitFor('all of it', () => seen.entries.get('a')?.length === 44 && seen.entries.get('b')?.length === 3, 5_000);
  assert.deepEqual(seqs(seen.entries.get('a')), ['s0', ...Array.from({ length: 40 }, (_, k) => k + 1), 's40', 41, 42]);
  assert.deepEqual(seqs(seen.entries.get('b')), [1, 2, 3]);
  assert.deepEqual(seen.gaps, []);
});

test('a stream added anywhere is read at once, not when the blocking read times out', async () => {
  const { seen } = await startReader();
  await new Promise((r) => setTimeout(r, 300));
  const started = Date.now();
  const c = await stream('c');
  await c.append(1);
  await waitFor('c’s first event', () => seen.entries.get('c')?.length === 1, 1_500);
  assert.ok(Date.now() - started < 1_000, `took ${Date.now() - started} ms (the read blocks for 2 s)`);
  assert.deepEqual(seen.added, ['c']);
  await new StreamRegistry(redis, keys).remove('c');
  await waitFor('removed', () => seen.removed.length === 1, 1_500);
});

test('a reader started again from what it has repeats nothing and misses nothing, over many restarts', async () => {
  const a = await stream('a');
  const got: number[] = [];
  const writing = (async () => {
    for (let k = 0; k < 200; k++) {
      await a.append();
      if (k % 10 === 0) await a.status('live');
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  for (let round = 0; round < 15; round++) {
    const from = got.length ? got[got.length - 1] : 0;
    const { seen, stop } = await startReader(() => from);
    await new Promise((r) => setTimeout(r, 20 + (round % 4) * 15));
    await stop();
    for (const e of seen.entries.get('a') ?? []) if (!e.status) got.push(e.seq);
  }
  await writing;
  const { seen, reader, stop } = await startReader(() => got[got.length - 1] ?? 0);
  await reader.ready();
  await new Promise((r) => setTimeout(r, 100));
  for (const e of seen.entries.get('a') ?? []) if (!e.status) got.push(e.seq);
  await stop();
  assert.deepEqual(
    got,
    Array.from({ length: 200 }, (_, k) => k + 1),
  );
});

test('events trimmed away while the reader was away are a gap, then it goes on', async () => {
  const a = await stream('a');
  await a.append(5);
  const first = await startReader();
  await waitFor('5', () => first.seen.entries.get('a')?.length === 5, 2_000);
  await first.stop();
  await a.append(300);
  // Retention took everything up to 250 while this node was away.
  await redis.sendCommand(['XTRIM', keys.events('a'), 'MINID', '251-0']);
  const { seen } = await startReader(() => 5);
  await waitFor('the rest', () => seqs(seen.entries.get('a')).at(-1) === 305, 3_000);
  assert.deepEqual(seen.gaps, ['a:6-250']);
  assert.equal(seqs(seen.entries.get('a'))[0], 251);
});
