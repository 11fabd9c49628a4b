/**
 * A full history (the real SQLite file at its --history-max-mb cap, so writes fail with
 * SQLITE_FULL as on a full disk) with the real server process: events that could not be
 * stored are counted and the stream is reported degraded; SIGTERM still shuts down cleanly;
 * and after a restart no seq a viewer has seen is ever issued again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { livecap, metricValue as metric, reap, restartCarriesOn, seqViewer, type LivecapProcess } from '../helpers/livecap-process.js';
import { waitFor } from '../helpers/processes.js';

test('with history full, events are counted as not stored, the stream is degraded, and after a restart no seq is reused', async () => {
  const media = await mkdtemp(join(tmpdir(), 'livecap-full-'));
  const history = join(media, 'history.db');
  // 0.1 MiB: the schema and a few captions with their keyframes, then SQLITE_FULL.
  const args = ['serve', '--port', '0', '--history', history, '--history-max-mb', '0.1', '--summarizer', 'none', '--media-dir', media, '--source', 'clip=clip.mp4'];
  let p: LivecapProcess | undefined;
  try {
    // Short scenes: a caption every second or so.
    await writeVideo(videoScript(78, { duration: 12, minScene: 0.8, maxScene: 1.5, width: 160, height: 120, fps: 10 }), join(media, 'clip.mp4'));
    p = livecap(args);
    const url = await p.url();
    const before = await seqViewer(url, 'clip');
    let metrics = '';
    await waitFor(
      'write failures counted',
      () => {
        void fetch(`${url}/metrics`).then(async (r) => (metrics = await r.text()));
        return metric(metrics, 'livecap_history_write_failures_total') >= 3;
      },
      90_000,
    );
    assert.equal(metric(metrics, 'livecap_streams_degraded'), 1);

    const ready = await fetch(`${url}/readyz`);
    const body = (await ready.json()) as { ready: boolean; degraded: { stream: string; reason: string }[] };
    assert.equal(ready.status, 503, 'not ready while history cannot be written');
    assert.equal(body.ready, false);
    assert.deepEqual(
      body.degraded.map((d) => d.stream),
      ['clip'],
    );
    assert.match(body.degraded[0]!.reason, /history: cannot write \(database or disk is full\)/);
    const { streams } = (await (await fetch(`${url}/api/streams`)).json()) as { streams: { id: string; degraded?: string }[] };
    assert.match(streams[0]!.degraded ?? '', /database or disk is full/);
    assert.equal((await fetch(`${url}/healthz`)).status, 200, 'still alive');

    // What live viewers got that history does not hold: those seqs were still recorded.
    const { captions: stored } = (await (await fetch(`${url}/api/streams/clip/captions?limit=1000`)).json()) as { captions: { seq: number }[] };
    const unstored = before.seqs.filter((s) => !stored.some((c) => c.seq === s));
    console.log(
      `# before the restart: viewer got ${before.seqs.length} events (seq ${before.seqs[0]}..${before.seqs.at(-1)}), history kept ${stored.length}; /metrics: ${metric(metrics, 'livecap_history_write_failures_total')} failed writes, ${metric(metrics, 'livecap_history_events_held_back_total')} held back`,
    );
    assert.ok(unstored.length > 0, 'some events went out live without being stored');
    assert.equal(new Set(before.seqs).size, before.seqs.length, 'no seq twice');

    // SIGTERM with the file full: a clean shutdown all the same.
    before.socket.close();
    p.child.kill('SIGTERM');
    const stopped = await p.exited;
    assert.equal(stopped.code, 0, p.stderr());
    const seen = Math.max(...before.seqs);

    await restartCarriesOn(args, 'clip', seen, 90_000);
  } finally {
    reap(p);
    await rm(media, { recursive: true, force: true });
  }
});
