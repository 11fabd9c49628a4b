/**
 * A cluster worker running a real stream (ffmpeg, the scene gate, the embedded captioner in its
 * worker thread) into a real redis-server: statuses, then captions with consecutive seqs, each
 * with its keyframe kept beside it; and when another worker takes the lease, the first writes
 * nothing more and its ffmpeg stops.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClientType } from '@redis/client';
import { redisWithClient, type RedisServer } from '../helpers/redis-server.js';
import { ffmpegPidsWith, waitFor } from '../helpers/processes.js';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import { clusterKeys } from '../../src/cluster/keys.js';
import { EventLog } from '../../src/cluster/event-log.js';
import { Leases } from '../../src/cluster/leases.js';
import { StreamRegistry } from '../../src/cluster/registry.js';
import { ClusterWorker } from '../../src/cluster/worker.js';
import { ClusterStreamRunner } from '../../src/stream/cluster-worker-streams.js';
import type { CaptionMessage } from '../../src/core/events.js';

const keys = clusterKeys('test:');
let server: RedisServer;
let redis: RedisClientType;
let media: string;

before(async () => {
  ({ server, redis } = await redisWithClient());
  media = await mkdtemp(join(tmpdir(), 'livecap-cluster-media-'));
  await writeVideo(videoScript(41, { duration: 12, width: 160, height: 120, fps: 10, minScene: 1.5, maxScene: 2.5 }), join(media, 'scenes-clusterclip.mp4'));
});

after(async () => {
  redis?.destroy();
  await server?.close();
  await rm(media, { recursive: true, force: true });
});

test('a worker appends a live stream’s statuses and captions to Redis, and stops writing the moment another holds its lease', async () => {
  const captioner = await acquireCaptioner(EMBEDDED_CAPTIONER);
  const events = new EventLog(redis, keys);
  const runner = new ClusterStreamRunner(
    { default: captioner, defaultName: 'embedded' },
    { rules: { mediaDir: media }, pipeline: { output: { width: 160, height: 120, fps: 10 } }, maxEvents: 10_000 },
    events,
  );
  const worker = new ClusterWorker(redis, keys, {
    node: 'a',
    role: 'worker',
    capacity: 4,
    captioners: ['embedded'],
    leaseMs: 2_000,
    tickMs: 200,
    rebalanceMs: 60_000,
    run: (id, registration, lease, lost) => runner.run(id, registration, lease, lost),
  });
  try {
    await new StreamRegistry(redis, keys).add('cam', { url: 'scenes-clusterclip.mp4', added: Date.now(), origin: 'api' });
    worker.start();
    await waitFor('three captions in Redis', async () => (await events.lastSeq('cam')) >= 3, 30_000);
    const entries = await events.after('cam', 0, 1000);
    const statuses = entries.filter((e) => e.status).map((e) => JSON.parse(e.json).state);
    assert.equal(statuses[0], 'live');
    const captions = entries.filter((e) => !e.status).map((e) => JSON.parse(e.json) as CaptionMessage);
    captions.forEach((c, k) => {
      assert.equal(c.seq, k + 1);
      assert.equal(c.stream, 'cam');
      assert.ok(c.text.length > 0);
    });
    const first = captions[0];
    assert.equal(first.keyframeUrl, '/api/streams/cam/keyframes/1.jpg');
    const jpeg = await events.keyframe('cam', 1);
    assert.ok(jpeg && jpeg[0] === 0xff && jpeg[1] === 0xd8, 'its keyframe is a JPEG in Redis');
    assert.equal(ffmpegPidsWith('scenes-clusterclip').length, 1);

    // Another worker takes the stream over (as if this one had been paused past its lease).
    await redis.sendCommand(['DEL', keys.lease('cam')]);
    const theirs = (await new Leases(redis, keys, 60_000).acquire('cam', 'b'))!;
    const lastOurs = await events.lastSeq('cam');
    await waitFor('a stops the stream', () => !worker.streams().includes('cam'), 15_000);
    await waitFor('its ffmpeg is gone', () => ffmpegPidsWith('scenes-clusterclip').length === 0, 10_000);
    await new Promise((r) => setTimeout(r, 1_000));
    const after = await events.after('cam', 0, 1000);
    assert.deepEqual(
      after.filter((e) => e.token !== '1').map((e) => e.node),
      [],
      'nothing written with the old token after the takeover',
    );
    assert.ok((await events.lastSeq('cam')) <= lastOurs + 1, 'at most the append already under way');
    assert.equal(theirs.token, '2');
  } finally {
    await worker.close();
    await releaseCaptioner(EMBEDDED_CAPTIONER);
  }
});
