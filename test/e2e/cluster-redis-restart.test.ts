/**
 * Redis restarted under a running cluster (append-only file on): two nodes in one process lose
 * their connections, reconnect with backoff, the stream starts again and carries its seq on, and
 * a viewer connected all along gets every event once; every event it received is still in Redis
 * and in both nodes' history.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@redis/client';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import type { RunningServer } from '../../src/stream/server.js';
import { startClusterTestServer, type TestServer } from '../helpers/test-server.js';
import { clusterKeys } from '../../src/cluster/keys.js';
import { EventLog } from '../../src/cluster/event-log.js';
import { RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/processes.js';
import { seqViewer } from '../helpers/livecap-process.js';

let redis: RedisServer;
let media: string;
const nodes: TestServer[] = [];

before(async () => {
  redis = await RedisServer.start({ appendOnly: true });
  media = await mkdtemp(join(tmpdir(), 'livecap-cluster-restart-'));
  await writeVideo(videoScript(55, { duration: 12, minScene: 0.6, maxScene: 1.2, width: 160, height: 120, fps: 10 }), join(media, 'restartclip.mp4'));
});

after(async () => {
  for (const n of nodes) await n.close();
  await redis?.close();
  await rm(media, { recursive: true, force: true });
});

async function node(nodeId: string): Promise<RunningServer> {
  const started = await startClusterTestServer(redis.url, nodeId, media);
  nodes.push(started);
  return started.server;
}

test('Redis restarted: nodes reconnect, the stream carries on, a viewer gets every event once, and nothing it got is lost', async () => {
  const a = await node('a');
  const b = await node('b');
  await a.streams.create({ id: 'cam', url: 'restartclip.mp4', prompt: undefined });
  await waitFor('listed on b', () => b.streams.has('cam'), 5_000);
  const viewer = await seqViewer(b.url, 'cam');
  await waitFor('captions', () => viewer.seqs.length >= 3, 60_000);
  await redis.stop('SIGTERM');
  await new Promise((r) => setTimeout(r, 1_500));
  const during = viewer.seqs.length;
  await redis.start();
  await waitFor('captions after the restart', () => viewer.seqs.length >= during + 3, 60_000);
  const seqs = viewer.seqs;
  assert.deepEqual(
    seqs,
    Array.from({ length: seqs.length }, (_, k) => seqs[0] + k),
    `every seq once, in order: ${seqs.join(',')}`,
  );
  // What the viewer got is kept: in Redis (its append-only file) and in each node's history.
  const client = createClient({ url: redis.url });
  await client.connect();
  try {
    const kept = (await new EventLog(client, clusterKeys()).after('cam', 0, 10_000)).filter((e) => !e.status).map((e) => e.seq);
    for (const seq of seqs) assert.ok(kept.includes(seq), `seq ${seq} is in Redis`);
  } finally {
    client.destroy();
  }
  for (const n of [a, b]) {
    const history = n.streams.history('cam', 0, 10_000).map((m) => m.seq);
    for (const seq of seqs) assert.ok(history.includes(seq), `seq ${seq} is in ${n.url}'s history`);
  }
  viewer.socket.close();
});
