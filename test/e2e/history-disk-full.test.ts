/**
 * A really full disk under the history file (a small tmpfs, filled up), with the real server
 * process: writes fail with SQLITE_FULL, the stream is degraded and counted, SIGTERM still
 * exits 0, a start on the full disk fails with a message naming the file, and once there is
 * room again no seq a viewer saw is issued a second time. Needs root to mount the tmpfs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { livecap, metricValue as metric, reap, restartCarriesOn, seqViewer, type LivecapProcess } from '../helpers/livecap-process.js';
import { waitFor } from '../helpers/processes.js';

function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Writes a file until the disk has no room left. */
function fill(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(4096, 1);
  let bytes = 0;
  try {
    for (;;) bytes += writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return bytes;
}

test('on a full disk no seq is reused, the stream is degraded, SIGTERM exits 0 and a start fails clearly', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-disk-'));
  const disk = join(dir, 'disk');
  await mkdir(disk);
  if (process.getuid?.() !== 0 || !mountTmpfs(disk, '8m')) {
    t.skip('needs root and mount to make a small disk');
    await rm(dir, { recursive: true, force: true });
    return;
  }
  const history = join(disk, 'history.db');
  const args = ['serve', '--port', '0', '--history', history, '--summarizer', 'none', '--media-dir', dir, '--source', 'clip=clip.mp4'];
  let p: LivecapProcess | undefined;
  try {
    await writeVideo(videoScript(79, { duration: 12, minScene: 0.8, maxScene: 1.5, width: 160, height: 120, fps: 10 }), join(dir, 'clip.mp4'));
    p = livecap(args);
    const url = await p.url();
    const before = await seqViewer(url, 'clip');
    await waitFor('three events', () => before.seqs.length >= 3, 60_000);
    const filled = fill(join(disk, 'filler'));

    let metrics = '';
    await waitFor(
      'failed writes counted',
      () => {
        void fetch(`${url}/metrics`).then(async (r) => (metrics = await r.text()));
        return metric(metrics, 'livecap_history_write_failures_total') >= 3;
      },
      90_000,
    );
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 503);
    const { degraded } = (await ready.json()) as { degraded: { stream: string; reason: string }[] };
    assert.equal(degraded[0]?.stream, 'clip');
    assert.match(degraded[0]!.reason, /database or disk is full/);
    console.log(
      `# disk filled with ${filled} bytes; viewer got seq ${before.seqs[0]}..${before.seqs.at(-1)}; ${metric(metrics, 'livecap_history_write_failures_total')} failed writes, ${metric(metrics, 'livecap_history_events_held_back_total')} held back`,
    );
    assert.equal(new Set(before.seqs).size, before.seqs.length, 'no seq twice');

    before.socket.close();
    p.child.kill('SIGTERM');
    const stopped = await p.exited;
    assert.equal(stopped.code, 0, `SIGTERM on a full disk: ${p.stderr()}`);
    const seen = Math.max(...before.seqs);

    // Still full: the start fails, naming the file, and the process ends.
    p = livecap(args);
    const failed = await p.exited;
    console.log(`# start on the full disk: exited ${failed.code} after ${failed.ms} ms`);
    assert.equal(failed.code, 1, p.stdout());
    assert.match(p.stderr(), new RegExp(`history store ${history}: .*database or disk is full`));

    // Room again: events carry on past everything a viewer saw.
    await rm(join(disk, 'filler'));
    await restartCarriesOn(args, 'clip', seen, 60_000);
  } finally {
    reap(p);
    if (p) await p.exited;
    execFileSync('umount', [disk]);
    await rm(dir, { recursive: true, force: true });
  }
});
