/**
 * Two livecap nodes (role all) on one real redis-server, in one process: a stream added through
 * one node runs on one of them and is listed by both with the node running it; a viewer on
 * either gets its statuses and captions; a viewer that drops and comes back with `since` to the
 * other node, again and again, gets every event once with no gap; history, keyframes and subtitles
 * answer the same on both; a stream removed through the other node stops everywhere.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import type { RunningServer } from '../../src/stream/server.js';
import { startClusterTestServer, type TestServer } from '../helpers/test-server.js';
import { Rng } from '../../src/util/rng.js';
import { RedisServer } from '../helpers/redis-server.js';
import { ffmpegPidsWith, waitFor } from '../helpers/processes.js';
import { visit } from '../helpers/ws-visit.js';
import { readEvents } from '../helpers/sse-client.js';

let redis: RedisServer;
let media: string;
const nodes: TestServer[] = [];

async function node(nodeId: string): Promise<RunningServer> {
  const started = await startClusterTestServer(redis.url, nodeId, media);
  nodes.push(started);
  return started.server;
}

before(async () => {
  redis = await RedisServer.start();
  media = await mkdtemp(join(tmpdir(), 'livecap-cluster-nodes-'));
  await writeVideo(videoScript(123, { duration: 12, minScene: 0.5, maxScene: 0.9, width: 160, height: 120, fps: 10 }), join(media, 'clusterfast.mp4'));
});

after(async () => {
  for (const n of nodes) await n.close();
  await redis?.close();
  await rm(media, { recursive: true, force: true });
});

const json = async (url: string, init?: RequestInit) => {
  const res = await fetch(url, init);
  return { status: res.status, body: res.status === 204 ? undefined : await res.json() };
};

test('a stream added on one node runs once, is listed by both, and viewers moving between nodes get every event once', async () => {
  const a = await node('a');
  const b = await node('b');
  const added = await json(`${a.url}/api/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'fast', url: 'clusterfast.mp4' }) });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  const listed = await waitFor('listed live on b with its node', async () => {
    const { body } = await json(`${b.url}/api/streams`);
    const s = body.streams.find((x: { id: string }) => x.id === 'fast');
    return s?.state === 'live' && s;
  });
  assert.ok(['a', 'b'].includes(listed.node), `node ${listed.node}`);
  const cluster = (await json(`${a.url}/api/cluster`)).body;
  assert.equal(cluster.cluster, true);
  assert.equal(cluster.node, 'a');
  assert.deepEqual(cluster.nodes.map((n: { id: string }) => n.id).sort(), ['a', 'b']);
  const runner = cluster.nodes.find((n: { id: string }) => n.id === listed.node);
  assert.deepEqual(runner.streams, ['fast']);
  assert.equal(runner.role, 'all');
  assert.deepEqual(runner.captioners, ['embedded']);
  assert.ok(Date.now() - runner.lastHeartbeat < 5_000, 'a recent heartbeat');
  assert.equal(ffmpegPidsWith('clusterfast').length, 1, 'one ffmpeg: it runs on one node');
  await waitFor(
    'captions on both nodes',
    async () => {
      const [x, y] = await Promise.all([a, b].map((n) => json(`${n.url}/api/streams/fast/captions?since=0`)));
      return x.body.captions.length >= 3 && y.body.captions.length >= 3;
    },
    60_000,
  );

  const rng = new Rng(11);
  const received: number[] = [];
  let last = 0;
  for (let cycle = 0; cycle < 20; cycle++) {
    const seqs = await visit((cycle % 2 ? a : b).url, 'fast', last, rng.int(100, 500));
    received.push(...seqs);
    if (seqs.length) last = Math.max(last, ...seqs);
    await new Promise((r) => setTimeout(r, rng.int(0, 300)));
  }
  assert.ok(received.length > 5, `received ${received.length} events`);
  assert.ok(!received.includes(-1), 'no gap');
  assert.deepEqual(
    received,
    Array.from({ length: received.length }, (_, k) => received[0] + k),
    'every seq once, in order',
  );

  // History, keyframes and subtitles answer the same on both nodes.
  const upTo = last;
  const [ha, hb] = await Promise.all([a, b].map((n) => json(`${n.url}/api/streams/fast/captions?since=0&limit=500`)));
  const cut = (list: { seq: number }[]) => list.filter((c) => c.seq <= upTo);
  assert.deepEqual(cut(ha.body.captions), cut(hb.body.captions));
  const first = ha.body.captions[0];
  for (const n of [a, b]) {
    const res = await fetch(`${n.url}${first.keyframeUrl}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    // A snapshot from either node: the frame itself where the stream runs, its latest keyframe elsewhere.
    const snapshot = await fetch(`${n.url}/api/streams/fast/snapshot.jpg`);
    assert.equal(snapshot.status, 200, `${n.url}: ${await snapshot.clone().text()}`);
    assert.equal(snapshot.headers.get('content-type'), 'image/jpeg');
    assert.ok(Number(snapshot.headers.get('x-frame-time')) >= first.frameTs);
    // Live video is a single server's for now: a cluster node says so.
    for (const file of ['index.m3u8', 'captions/0.vtt']) {
      const live = await fetch(`${n.url}/api/streams/fast/live/${file}`);
      assert.equal(live.status, 501);
      assert.match(((await live.json()) as { error: string }).error, /single server/);
    }
  }
  // Subtitles of the same time range, search, and SSE resumed with Last-Event-ID on the other node.
  const until = ha.body.captions.find((c: { seq: number }) => c.seq === upTo)?.ts ?? ha.body.captions.at(-1).ts;
  const [va, vb] = await Promise.all([a, b].map(async (n) => (await fetch(`${n.url}/api/streams/fast/captions.vtt?from=0&to=${until}`)).text()));
  assert.match(va, /^WEBVTT/);
  assert.equal(va, vb, 'the same WebVTT from both nodes');
  assert.ok((va.match(/-->/g) ?? []).length >= 3, 'cues for the captions');
  const word = (ha.body.captions[0].text as string).split(' ').find((w) => w.length > 3)!;
  const [sa, sb] = await Promise.all([a, b].map((n) => json(`${n.url}/api/search?q=${encodeURIComponent(word)}&stream=fast&to=${until}`)));
  assert.ok(sa.body.results.length > 0, `'${word}' found`);
  assert.deepEqual(sa.body.results.map((r: { seq: number }) => r.seq).sort(), sb.body.results.map((r: { seq: number }) => r.seq).sort(), 'search answers the same on both nodes');
  const middle = ha.body.captions[1].seq as number;
  const sse = await fetch(`${b.url}/api/streams/fast/events`, { headers: { 'last-event-id': String(middle) } });
  const resumed = await readEvents(sse, (events) => events.filter((e) => e.id !== undefined).length >= 3);
  const ids = resumed.filter((e) => e.id !== undefined).map((e) => Number(e.id));
  assert.deepEqual(ids.slice(0, 3), [middle + 1, middle + 2, middle + 3], 'SSE on the other node resumes after Last-Event-ID');

  // Removed through b: it stops on whichever node ran it, and both stop listing it.
  assert.equal((await json(`${b.url}/api/streams/fast`, { method: 'DELETE' })).status, 204);
  await waitFor('its ffmpeg is gone', () => ffmpegPidsWith('clusterfast').length === 0, 10_000);
  await waitFor('not listed on a', async () => (await json(`${a.url}/api/streams`)).body.streams.length === 0, 5_000);
});
