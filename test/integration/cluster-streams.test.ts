/**
 * A node's view of the cluster's streams on a real redis-server: a node that already holds
 * events (its history file) starts reading after them, and still knows each stream's status as it
 * is now, though that status came before what it holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redisForTests } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/processes.js';
import { clusterKeys } from '../../src/cluster/keys.js';
import { EventLog } from '../../src/cluster/event-log.js';
import { Leases } from '../../src/cluster/leases.js';
import { StreamRegistry } from '../../src/cluster/registry.js';
import { ClusterStreams } from '../../src/stream/cluster-streams.js';
import { HistoryStore } from '../../src/store/history-store.js';
import type { CaptionMessage, StreamMessage } from '../../src/core/events.js';

const keys = clusterKeys('test:');
const ctx = redisForTests();

test('a node that holds events already reads on after them and knows each stream’s status as it is now', async () => {
  const { redis } = ctx;
  await new StreamRegistry(redis, keys).add('cam', { url: 'testsrc://smptebars', kind: 'testsrc', added: Date.now(), origin: 'api' });
  const lease = (await new Leases(redis, keys, 60_000).acquire('cam', 'w1'))!;
  const log = new EventLog(redis, keys);
  const caption = (seq: number): CaptionMessage => ({ type: 'caption', stream: 'cam', seq, ts: seq, frameTs: seq, text: `caption ${seq}`, latencyMs: 1 });
  await log.append(lease, { type: 'status', ts: 1, json: JSON.stringify({ type: 'status', stream: 'cam', state: 'live' }) }, 1000);
  for (let seq = 1; seq <= 5; seq++) await log.append(lease, { seq, type: 'caption', ts: seq, json: JSON.stringify(caption(seq)) }, 1000);

  // This node's own copy has the first four already (it ran before).
  const store = new HistoryStore({ path: ':memory:' });
  for (let seq = 1; seq <= 4; seq++) store.append(caption(seq));
  const reading = redis.duplicate();
  await reading.connect();
  const emitted: StreamMessage[] = [];
  const streams = new ClusterStreams(redis, reading, keys, { rules: {}, store, refreshMs: 200, reader: { blockMs: 500, count: 100 } }, (m) => emitted.push(m));
  try {
    await streams.start();
    await streams.ready();
    await waitFor('seq 5', () => emitted.some((m) => m.type === 'caption' && m.seq === 5), 3_000);
    assert.deepEqual(
      emitted.map((m) => (m.type === 'status' ? m.state : m.seq)),
      [5],
      'only what it did not hold',
    );
    assert.equal(streams.status('cam')?.state, 'live', 'the status from before what it held');
    assert.equal(store.lastSeq('cam'), 5);
    const info = streams.get('cam');
    assert.equal(info?.kind, 'testsrc');
    assert.equal(info?.node, 'w1');
    assert.equal(info?.lastSeq, 5);
  } finally {
    await streams.close();
    reading.destroy();
    store.close();
  }
});
