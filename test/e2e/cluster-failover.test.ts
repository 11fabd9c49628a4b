/**
 * `livecap serve --cluster` as real processes on one real redis-server: two workers and a web
 * node. The worker running a stream is killed with SIGKILL mid-stream: the other worker takes the
 * stream within the lease (goal: 10 s), and a viewer connected to the web node all along gets
 * the stream's captions carrying on with no gap and no duplicate. A worker paused past its lease
 * (SIGSTOP) and woken writes nothing more for the stream it lost. A web node killed: its viewers
 * come back to the other web node with `since` and carry on with no gap and no duplicate.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { RedisServer } from '../helpers/redis-server.js';
import { ffmpegPidsWith, waitFor } from '../helpers/processes.js';
import { livecap, reap, seqViewer, type LivecapProcess } from '../helpers/livecap-process.js';
import { visit } from '../helpers/ws-visit.js';

let redis: RedisServer;
let media: string;
const processes: LivecapProcess[] = [];

before(async () => {
  redis = await RedisServer.start();
  media = await mkdtemp(join(tmpdir(), 'livecap-cluster-failover-'));
  const clip = videoScript(77, { duration: 12, minScene: 0.6, maxScene: 1.2, width: 160, height: 120, fps: 10 });
  await writeVideo(clip, join(media, 'failoverclip.mp4'));
  await writeVideo(clip, join(media, 'pausedclip.mp4'));
});

after(async () => {
  for (const p of processes) reap(p);
  await Promise.all(processes.map((p) => p.exited));
  await redis?.close();
  await rm(media, { recursive: true, force: true });
});

function node(role: 'worker' | 'web', nodeId: string, extra: string[] = []): LivecapProcess {
  const p = livecap(['serve', '--cluster', redis.url, '--role', role, '--node-id', nodeId, '--port', '0', '--history', ':memory:', '--media-dir', media, '--summarizer', 'none', ...extra]);
  processes.push(p);
  return p;
}

test('a worker killed mid-stream: the other worker carries the stream on within the lease, viewers see no gap and no duplicate', async () => {
  const w1 = node('worker', 'w1', ['--source', 'fast=failoverclip.mp4']);
  const w2 = node('worker', 'w2');
  const web = node('web', 'web1');
  const url = await web.url();
  await Promise.all([w1.url(), w2.url()]);
  await listed(url, 'fast');
  const viewer = await seqViewer(url, 'fast');
  await waitFor('captions through the web node', () => viewer.seqs.length >= 3, 60_000);
  const streams = async () => (await (await fetch(`${url}/api/streams`)).json()).streams as { id: string; node: string | null; state: string }[];
  const owner = await waitFor('the stream’s worker', async () => (await streams()).find((s) => s.id === 'fast')?.node);
  assert.ok(owner === 'w1' || owner === 'w2', `owner ${owner}`);
  const cluster = { w1, w2 };
  const victim = cluster[owner as 'w1' | 'w2'];
  const survivor = owner === 'w1' ? 'w2' : 'w1';
  const before = viewer.seqs.length;
  const killed = Date.now();
  victim.child.kill('SIGKILL');
  await waitFor('the stream on the other worker', async () => (await streams()).find((s) => s.id === 'fast')?.node === survivor, 20_000);
  await waitFor('captions again', () => viewer.seqs.length >= before + 3, 30_000);
  const moved = Date.now() - killed;
  console.log(`# captions carried on ${moved} ms after the kill`);
  assert.ok(moved <= 20_000, `moved in ${moved} ms`);
  const seqs = viewer.seqs;
  assert.deepEqual(
    seqs,
    Array.from({ length: seqs.length }, (_, k) => seqs[0] + k),
    `every seq once, in order: ${seqs.join(',')}`,
  );
  await waitFor('one ffmpeg for the stream', () => ffmpegPidsWith('failoverclip').length === 1, 10_000);
  viewer.socket.close();
  await stopAll();
});

/** Waits until a node lists the stream (a stream added on one node reaches the others within moments). */
async function listed(url: string, id: string): Promise<void> {
  await waitFor(`${id} listed`, async () => ((await (await fetch(`${url}/api/streams`)).json()).streams as { id: string }[]).some((s) => s.id === id), 10_000);
}

/** Ends every node and empties Redis, so the next test starts afresh. */
async function stopAll() {
  for (const p of processes) reap(p);
  await Promise.all(processes.splice(0).map((p) => p.exited));
  await waitFor('no ffmpeg left', () => ffmpegPidsWith(media).length === 0, 10_000);
  await redis.flush();
}

test('a worker paused past its lease (SIGSTOP) and woken (SIGCONT) writes nothing more for the stream it lost', async () => {
  const w1 = node('worker', 'p1', ['--source', 'paused=pausedclip.mp4']);
  const w2 = node('worker', 'p2');
  const web = node('web', 'pweb');
  const url = await web.url();
  await Promise.all([w1.url(), w2.url()]);
  await listed(url, 'paused');
  const viewer = await seqViewer(url, 'paused');
  await waitFor('captions through the web node', () => viewer.seqs.length >= 3, 60_000);
  const streams = async () => (await (await fetch(`${url}/api/streams`)).json()).streams as { id: string; node: string | null }[];
  const owner = await waitFor('the stream’s worker', async () => (await streams()).find((s) => s.id === 'paused')?.node);
  const [paused, other] = owner === 'p1' ? [w1, 'p2'] : [w2, 'p1'];
  paused.child.kill('SIGSTOP');
  try {
    await waitFor('the other worker runs it', async () => (await streams()).find((s) => s.id === 'paused')?.node === other, 20_000);
    const before = viewer.seqs.length;
    await waitFor('captions from the other worker', () => viewer.seqs.length >= before + 2, 30_000);
  } finally {
    paused.child.kill('SIGCONT');
  }
  // Awake again: it finds its lease gone at its next append or renewal and stops its ffmpeg.
  await new Promise((r) => setTimeout(r, 4_000));
  const after = viewer.seqs.length;
  await waitFor('captions go on', () => viewer.seqs.length >= after + 2, 30_000);
  const seqs = viewer.seqs;
  assert.deepEqual(
    seqs,
    Array.from({ length: seqs.length }, (_, k) => seqs[0] + k),
    `every seq once, in order: ${seqs.join(',')}`,
  );
  assert.equal((await streams()).find((s) => s.id === 'paused')?.node, other, 'still on the other worker');
  await waitFor('one ffmpeg for the stream', () => ffmpegPidsWith('pausedclip').length === 1, 10_000);
  assert.match(paused.stderr(), /lease lost|given up/, 'the woken worker says it gave the stream up');
  viewer.socket.close();
  await stopAll();
});

test('a web node killed: its viewers come back to the other web node with since and carry on, no gap, no duplicate', async () => {
  const worker = node('worker', 'k1', ['--source', 'webkill=pausedclip.mp4']);
  const web1 = node('web', 'kweb1');
  const web2 = node('web', 'kweb2');
  const [url1, url2] = await Promise.all([web1.url(), web2.url()]);
  await worker.url();
  await listed(url1, 'webkill');
  await listed(url2, 'webkill');
  const first = await seqViewer(url1, 'webkill');
  await waitFor('captions through the first web node', () => first.seqs.length >= 3, 60_000);
  web1.child.kill('SIGKILL');
  await web1.exited;
  const last = first.seqs.at(-1)!;
  // The viewer reconnects to the other web node, asking for what came after its last seq.
  const rest = await visit(url2, 'webkill', last, 3_000);
  const seqs = [...first.seqs, ...rest];
  assert.ok(rest.length >= 2, `events after the reconnect: ${rest.join(',')}`);
  assert.ok(!rest.includes(-1), 'no gap');
  assert.deepEqual(
    seqs,
    Array.from({ length: seqs.length }, (_, k) => seqs[0] + k),
    `every seq once, in order: ${seqs.join(',')}`,
  );
  // A node started under the id of a live one is refused, and says why.
  const twin = node('web', 'kweb2');
  const ended = await twin.exited;
  assert.notEqual(ended.code, 0, 'a failed start exits non-zero');
  assert.match(twin.stderr(), /node id 'kweb2' is in use: a live web node beats under it/);
  await stopAll();
});
