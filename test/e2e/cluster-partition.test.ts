/**
 * A node whose link to Redis goes silent without closing (a partition, a peer gone without a
 * word): every open connection through a TCP proxy is frozen. The node takes the silence for a
 * dead link, connects again (new connections go through) and its viewer carries on with every
 * event once, no gap; TCP alone would have noticed only after minutes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import type { RunningServer } from '../../src/stream/server.js';
import { startClusterTestServer, type TestServer } from '../helpers/test-server.js';
import { RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/processes.js';
import { seqViewer } from '../helpers/livecap-process.js';
import { tcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

let redis: RedisServer;
let proxy: TcpProxy;
let media: string;
const nodes: TestServer[] = [];

before(async () => {
  redis = await RedisServer.start();
  proxy = await tcpProxy(new URL(redis.url));
  media = await mkdtemp(join(tmpdir(), 'livecap-cluster-partition-'));
  await writeVideo(videoScript(66, { duration: 12, minScene: 0.6, maxScene: 1.2, width: 160, height: 120, fps: 10 }), join(media, 'partitionclip.mp4'));
});

after(async () => {
  for (const n of nodes) await n.close();
  await proxy?.close();
  await redis?.close();
  await rm(media, { recursive: true, force: true });
});

async function node(url: string, nodeId: string): Promise<RunningServer> {
  const started = await startClusterTestServer(url, nodeId, media);
  nodes.push(started);
  return started.server;
}

test('a node whose link to Redis goes silent connects again, and its viewer carries on with every event once', async () => {
  const direct = await node(redis.url, 'direct');
  const behind = await node(proxy.url.replace('http:', 'redis:'), 'behind');
  await direct.streams.create({ id: 'cam', url: 'partitionclip.mp4', prompt: undefined });
  await waitFor('listed behind the proxy', () => behind.streams.has('cam'), 5_000);
  const viewer = await seqViewer(behind.url, 'cam');
  await waitFor('captions behind the proxy', () => viewer.seqs.length >= 3, 60_000);
  proxy.freeze();
  const frozen = Date.now();
  const before = viewer.seqs.length;
  await waitFor('captions again behind the proxy', () => viewer.seqs.length >= before + 3, 60_000);
  console.log(`# captions again ${Date.now() - frozen} ms after the link went silent`);
  const seqs = viewer.seqs;
  assert.deepEqual(
    seqs,
    Array.from({ length: seqs.length }, (_, k) => seqs[0] + k),
    `every seq once, in order: ${seqs.join(',')}`,
  );
  viewer.socket.close();
});
