/**
 * The cluster's ownership and event log on a real redis-server: leases with fencing tokens, appends
 * that only the lease holder can make and only with the next seq, statuses between events,
 * keyframes kept exactly as long as their events, retention by count and by age, and scripts that
 * survive a Redis that forgot them.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import type { RedisClientType } from '@redis/client';
import { redisWithClient, type RedisServer } from '../helpers/redis-server.js';
import { clusterKeys } from '../../src/cluster/keys.js';
import { Leases } from '../../src/cluster/leases.js';
import { EventLog, FencedError, SeqConflictError } from '../../src/cluster/event-log.js';

const keys = clusterKeys('test:');
let server: RedisServer;
let redis: RedisClientType;

before(async () => {
  ({ server, redis } = await redisWithClient());
});

after(async () => {
  redis?.destroy();
  await server?.close();
});

beforeEach(async () => {
  await redis.sendCommand(['FLUSHDB']);
  await redis.sendCommand(['HSET', keys.streams, 'cam', '{}']);
});

const caption = (seq: number, ts = 1_000 + seq) => ({ seq, type: 'caption', ts, json: JSON.stringify({ type: 'caption', stream: 'cam', seq, text: `caption ${seq}` }) });

test('a lease goes to one node at a time, each holder with a larger fencing token', async () => {
  const leases = new Leases(redis, keys, 5_000);
  const a = await leases.acquire('cam', 'a');
  assert.deepEqual(a, { stream: 'cam', node: 'a', token: '1' });
  assert.equal(await leases.acquire('cam', 'b'), undefined, 'held by a');
  assert.equal(await leases.renew(a!), true);
  assert.equal(await leases.release(a!), true);
  const b = await leases.acquire('cam', 'b');
  assert.equal(b?.token, '2');
  assert.equal(await leases.renew(a!), false, 'a stale holder cannot renew');
  assert.equal(await leases.release(a!), false, 'nor release another node’s lease');
  assert.deepEqual(await leases.holders(['cam', 'other']), new Map([['cam', { token: '2', node: 'b' }]]));
  // The same node id with an old token is a stale holder too.
  assert.equal(await leases.renew({ ...b!, token: '1' }), false);
});

test('a lease that is not renewed expires and the next node takes it', async () => {
  const leases = new Leases(redis, keys, 200);
  const a = await leases.acquire('cam', 'a');
  assert.ok(a);
  await new Promise((r) => setTimeout(r, 350));
  assert.equal(await leases.renew(a), false, 'expired');
  const c = await leases.acquire('cam', 'c');
  assert.equal(c?.token, '2');
});

test('a stream that is not registered cannot be leased', async () => {
  const leases = new Leases(redis, keys, 5_000);
  await assert.rejects(leases.acquire('ghost', 'a'), /NOSTREAM ghost/);
});

test('only the lease holder appends, and only the next seq: nothing is written otherwise', async () => {
  const leases = new Leases(redis, keys, 5_000);
  const log = new EventLog(redis, keys);
  const a = (await leases.acquire('cam', 'a'))!;
  assert.equal(await log.append(a, caption(1), 1000), '1-0');
  assert.equal(await log.append(a, caption(2), 1000), '2-0');
  await assert.rejects(log.append(a, caption(4), 1000), (e: unknown) => e instanceof SeqConflictError && e.expected === 3 && e.got === 4);
  await assert.rejects(log.append(a, caption(2), 1000), (e: unknown) => e instanceof SeqConflictError && e.expected === 3, 'a seq is never reused');

  // a is paused past its lease; b takes over and carries the seq on.
  await leases.release(a);
  const b = (await leases.acquire('cam', 'b'))!;
  const before = { seq: await log.lastSeq('cam'), len: await redis.sendCommand(['XLEN', keys.events('cam')]) };
  await assert.rejects(log.append(a, { ...caption(3), jpeg: Buffer.from('old') }, 1000), (e: unknown) => e instanceof FencedError && e.holder === '2 b');
  await assert.rejects(log.append(a, { type: 'status', ts: 5, json: '{}' }, 1000), FencedError, 'statuses are fenced too');
  assert.deepEqual({ seq: await log.lastSeq('cam'), len: await redis.sendCommand(['XLEN', keys.events('cam')]) }, before);
  assert.equal(await log.keyframe('cam', 3), undefined);

  assert.equal(await log.append(b, caption(3), 1000), '3-0');
  const entries = await log.after('cam', 0, 100);
  assert.deepEqual(
    entries.map((e) => `${e.seq}:${e.node}:${e.token}`),
    ['1:a:1', '2:a:1', '3:b:2'],
  );
  assert.deepEqual(JSON.parse(entries[2].json), JSON.parse(caption(3).json));
});

test('statuses sit between the events they came between, and reads by seq skip nothing', async () => {
  const leases = new Leases(redis, keys, 5_000);
  const log = new EventLog(redis, keys);
  const a = (await leases.acquire('cam', 'a'))!;
  const status = (state: string) => ({ type: 'status', ts: 1, json: JSON.stringify({ type: 'status', stream: 'cam', state }) });
  assert.equal(await log.append(a, status('connecting'), 1000), '0-1');
  assert.equal(await log.append(a, status('live'), 1000), '0-2');
  await log.append(a, caption(1), 1000);
  assert.equal(await log.append(a, status('reconnecting'), 1000), '1-1');
  await log.append(a, caption(2), 1000);
  await log.append(a, caption(3), 1000);

  assert.deepEqual(
    (await log.after('cam', 0, 100)).map((e) => (e.status ? `status after ${e.seq}` : `seq ${e.seq}`)),
    ['status after 0', 'status after 0', 'seq 1', 'status after 1', 'seq 2', 'seq 3'],
  );
  assert.deepEqual(
    (await log.after('cam', 1, 100)).map((e) => e.id),
    ['1-1', '2-0', '3-0'],
  );
  assert.deepEqual(
    (await log.newest('cam', 3, 0, 2)).map((e) => e.seq),
    [3, 2],
  );
  assert.deepEqual(
    (await log.afterEntry('cam', '1-1', 10)).map((e) => e.seq),
    [2, 3],
  );
  assert.equal(await log.firstSeq('cam'), 1, 'the oldest entry is a status before seq 1');
  assert.equal(JSON.parse((await redis.sendCommand<string>(['GET', keys.status('cam')])) ?? '').state, 'reconnecting');
});

test('keyframes are kept exactly as long as their events, by count and by age, and seq carries on', async () => {
  const leases = new Leases(redis, keys, 5_000);
  const log = new EventLog(redis, keys);
  const a = (await leases.acquire('cam', 'a'))!;
  for (let seq = 1; seq <= 250; seq++) await log.append(a, { ...caption(seq, seq * 1000), jpeg: Buffer.from([0xff, 0xd8, seq & 0xff, 0xff, 0xd9]) }, 20);
  const kept = await log.after('cam', 0, 1000);
  // MAXLEN ~ trims whole nodes of entries: at least 20 and far fewer than 250 are kept.
  assert.ok(kept.length >= 20 && kept.length < 250, `kept ${kept.length}`);
  const first = kept[0].seq;
  assert.equal(await log.firstSeq('cam'), first);
  assert.equal(await log.keyframe('cam', first - 1), undefined, 'the keyframe of a trimmed event is gone');
  assert.deepEqual(await log.keyframe('cam', 250), Buffer.from([0xff, 0xd8, 250, 0xff, 0xd9]));
  assert.equal(Number(await redis.sendCommand(['XLEN', keys.keyframes('cam')])), kept.length);

  // By age: everything before 240 s goes, in batches.
  const removed = await log.trimOlderThan('cam', 240_000, 7);
  assert.equal(removed, 239 - first + 1);
  assert.equal(await log.firstSeq('cam'), 240);
  assert.equal(Number(await redis.sendCommand(['XLEN', keys.keyframes('cam')])), 11);
  assert.equal(await log.keyframe('cam', 239), undefined);
  assert.ok(await log.keyframe('cam', 240));

  // Everything gone: the seq still carries on, never reused.
  assert.equal(await log.trimOlderThan('cam', Number.MAX_SAFE_INTEGER), 11);
  assert.equal(await log.firstSeq('cam'), undefined);
  assert.equal(Number(await redis.sendCommand(['XLEN', keys.keyframes('cam')])), 0);
  assert.equal(await log.append(a, caption(251), 20), '251-0');
  await assert.rejects(log.append(a, caption(1), 20), SeqConflictError);
});

test('the scripts work again after Redis forgot them (a restart or SCRIPT FLUSH)', async () => {
  const leases = new Leases(redis, keys, 5_000);
  const log = new EventLog(redis, keys);
  const a = (await leases.acquire('cam', 'a'))!;
  await log.append(a, caption(1), 100);
  await redis.sendCommand(['SCRIPT', 'FLUSH']);
  assert.equal(await log.append(a, caption(2), 100), '2-0');
  assert.equal(await leases.renew(a), true);
  await redis.sendCommand(['SCRIPT', 'FLUSH']);
  assert.equal(await log.trimOlderThan('cam', 0), 0);
});

test('a sweep removes events past their age in every stream, removed ones too, once a minute over all nodes', async () => {
  const leases = new Leases(redis, keys, 5_000);
  const log = new EventLog(redis, keys);
  await redis.sendCommand(['HSET', keys.streams, 'gone', '{}']);
  for (const id of ['cam', 'gone']) {
    const lease = (await leases.acquire(id, 'a'))!;
    for (let seq = 1; seq <= 10; seq++) await log.append(lease, caption(seq, seq * 1000), 1000);
  }
  // 'gone' was removed from the cluster: its history stays until it is past its age.
  await redis.sendCommand(['HDEL', keys.streams, 'gone']);
  assert.equal(await log.sweepOlderThan(6_000), 10, 'five from each');
  assert.equal(await log.firstSeq('cam'), 6);
  assert.equal(await log.firstSeq('gone'), 6);
  assert.equal(await new EventLog(redis, keys).sweepOlderThan(100_000), 0, 'another node, the same minute: nothing');
  await redis.sendCommand(['DEL', keys.sweep]);
  assert.equal(await log.sweepOlderThan(100_000), 10);
});
