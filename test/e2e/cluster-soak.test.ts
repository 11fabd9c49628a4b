/**
 * Soak: the worker running a stream is killed with SIGKILL twenty times in a row (a fresh worker
 * started after each), real processes on one redis-server, with a viewer on each of two web
 * nodes all along. Every caption reaches both viewers once, in order: zero gaps, zero duplicates.
 * A 2 s lease (`"cluster": {"leaseSeconds": 2}`) keeps the twenty moves short.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { RedisServer } from '../helpers/redis-server.js';
import { ffmpegPidsWith, waitFor } from '../helpers/processes.js';
import { killWorkersInTurn } from '../helpers/worker-kills.js';

let redis: RedisServer;
let media: string;

before(async () => {
  redis = await RedisServer.start();
  media = await mkdtemp(join(tmpdir(), 'livecap-cluster-soak-'));
  await writeVideo(videoScript(91, { duration: 12, minScene: 0.6, maxScene: 1.2, width: 160, height: 120, fps: 10 }), join(media, 'soakclip.mp4'));
  await writeFile(join(media, 'lease.json'), JSON.stringify({ cluster: { leaseSeconds: 2 } }));
});

after(async () => {
  await redis?.close();
  await rm(media, { recursive: true, force: true });
});

test('20 worker kills in a row with viewers on two web nodes: every caption once, in order, on both; no gap', async () => {
  const kills = 20;
  const { rounds, viewers } = await killWorkersInTurn({
    redisUrl: redis.url,
    mediaDir: media,
    source: 'soakclip.mp4',
    kills,
    extra: ['--config', join(media, 'lease.json')],
    progress: (line) => console.log(`# ${line}`),
  });
  assert.equal(rounds.length, kills);
  const [one, two] = viewers;
  for (const [k, v] of viewers.entries()) {
    assert.equal(v.gaps, 0, `viewer ${k + 1} got no gap`);
    assert.deepEqual(
      v.seqs,
      Array.from({ length: v.seqs.length }, (_, n) => v.seqs[0] + n),
      `viewer ${k + 1}: every seq once, in order: ${v.seqs.join(',')}`,
    );
  }
  // Both web nodes delivered the same events (the one that subscribed later starts later).
  const common = Math.max(one.seqs[0], two.seqs[0]);
  assert.deepEqual(
    two.seqs.filter((s) => s >= common),
    one.seqs.filter((s) => s >= common && s <= two.seqs.at(-1)!),
  );
  assert.ok(one.seqs.length >= 2 * kills, `${one.seqs.length} captions over ${kills} kills`);
  // Viewers are told the stream moved: a status for each move, then its captions.
  assert.ok(one.statuses.length >= kills, `${one.statuses.length} statuses over ${kills} kills`);
  const worst = Math.max(...rounds.map((r) => r.captionMs));
  console.log(`# captions again after each kill: ${rounds.map((r) => r.captionMs).join(', ')} ms (worst ${worst})`);
  assert.ok(worst <= 15_000, `every move within 15 s with a 2 s lease (worst ${worst} ms)`);
  await waitFor('no ffmpeg left', () => ffmpegPidsWith(media).length === 0, 10_000);
});
