/**
 * A start that cannot succeed ends the real process: non-zero status, a message on stderr that
 * names the cause, and no model worker keeping it alive (a supervisor must see it fail).
 * Signals that stop a running server (SIGTERM, SIGINT, SIGHUP) shut it down cleanly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { chmod, mkdtemp, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { livecap, reap, type LivecapProcess } from '../helpers/livecap-process.js';
import { ffmpegPidsWith, waitFor } from '../helpers/processes.js';
import { HistoryStore } from '../../src/store/history-store.js';

// Generous for a loaded machine; the real figures are printed.
const EXIT_WITHIN_MS = 15_000;

const serveArgs = (history: string, port = '0') => ['serve', '--port', port, '--history', history, '--summarizer', 'none', '--source', 'bars=testsrc://smptebars'];

async function failedStart(what: string, p: LivecapProcess): Promise<string> {
  const timer = setTimeout(() => p.child.kill('SIGKILL'), EXIT_WITHIN_MS);
  try {
    const { code, signal, ms } = await p.exited;
    console.log(`# ${what}: exited ${code} after ${ms} ms`);
    assert.equal(signal, null, `${what}: the process had to be killed (it did not exit by itself within ${EXIT_WITHIN_MS} ms); stderr: ${p.stderr()}`);
    assert.equal(code, 1, `${what}: exit status; stderr: ${p.stderr()}`);
    assert.doesNotMatch(p.stdout(), /serving/);
    return p.stderr();
  } finally {
    clearTimeout(timer);
  }
}

/** A history file with a few events in it. */
function historyFile(path: string): void {
  const store = new HistoryStore({ path });
  for (let seq = 1; seq <= 2000; seq++) store.append({ type: 'caption', stream: 'bars', seq, ts: Date.now(), frameTs: seq, text: `a red circle ${seq}`, latencyMs: 1 });
  store.close();
}

test('a port in use: exits 1 within seconds, saying which address', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as { port: number }).port;
  const dir = await mkdtemp(join(tmpdir(), 'livecap-fail-'));
  let p: LivecapProcess | undefined;
  try {
    p = livecap(serveArgs(join(dir, 'history.db'), String(port)));
    const err = await failedStart('port in use', p);
    assert.match(err, new RegExp(`EADDRINUSE.*127\\.0\\.0\\.1:${port}`));
  } finally {
    reap(p);
    taken.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a history file that is not a database, or a truncated one: exits 1 naming the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-fail-'));
  let p: LivecapProcess | undefined;
  try {
    const garbage = join(dir, 'garbage.db');
    await writeFile(garbage, 'these are not the bytes of a database\n'.repeat(200));
    p = livecap(serveArgs(garbage));
    assert.match(await failedStart('not a database', p), new RegExp(`history store ${garbage}: it is not a livecap history file, or it is damaged`));

    const cut = join(dir, 'cut.db');
    historyFile(cut);
    await truncate(cut, Math.floor((await stat(cut)).size / 2));
    p = livecap(serveArgs(cut));
    assert.match(await failedStart('truncated', p), new RegExp(`history store ${cut}: it is not a livecap history file, or it is damaged .*truncated`));
  } finally {
    reap(p);
    await rm(dir, { recursive: true, force: true });
  }
});

test('a read-only history file: exits 1 naming the file, before any stream starts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-fail-'));
  let p: LivecapProcess | undefined;
  try {
    const file = join(dir, 'history.db');
    historyFile(file);
    await chmod(file, 0o444);
    // root writes to read-only files anyway: run the server as an unprivileged user then.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    if ('uid' in asUser) await chmod(dir, 0o755);
    p = livecap(serveArgs(file), asUser);
    assert.match(await failedStart('read-only', p), new RegExp(`history store ${file}: it is read-only`));
  } finally {
    reap(p);
    await rm(dir, { recursive: true, force: true });
  }
});

/** The ffmpeg processes that `parent` started (Linux /proc). */
function ffmpegChildren(parent: number): number[] {
  return ffmpegPidsWith('').filter((pid) => {
    try {
      return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]) === parent;
    } catch {
      return false;
    }
  });
}

for (const signal of ['SIGHUP', 'SIGINT'] as const) {
  test(`${signal} shuts the server down like SIGTERM: its ffmpeg stops and it exits 0`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'livecap-signal-'));
    let p: LivecapProcess | undefined;
    try {
      p = livecap(serveArgs(join(dir, 'history.db')), { env: { LIVECAP_LOG: 'info' } });
      await p.url();
      const pid = p.child.pid!;
      const ffmpeg = await waitFor("the stream's ffmpeg", () => ffmpegChildren(pid).length > 0 && ffmpegChildren(pid), 30_000);
      p.child.kill(signal);
      const timer = setTimeout(() => p!.child.kill('SIGKILL'), EXIT_WITHIN_MS);
      const { code, signal: killed } = await p.exited;
      clearTimeout(timer);
      assert.equal(killed, null, `${signal}: it did not exit by itself within ${EXIT_WITHIN_MS} ms`);
      assert.equal(code, 0, p.stderr());
      assert.match(p.stderr(), new RegExp(`"signal":"${signal}".*"msg":"shutting down"`), 'the log says why it stopped');
      await waitFor('its ffmpeg gone', () => ffmpeg.every((f) => !ffmpegPidsWith('').includes(f)), 5000);
    } finally {
      reap(p);
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test('a signal while the server is still starting ends it cleanly: exit 0, no ffmpeg left', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-signal-'));
  let p: LivecapProcess | undefined;
  try {
    p = livecap(serveArgs(join(dir, 'history.db')), { env: { LIVECAP_LOG: 'info' } });
    // The first log line comes before the models load and long before the address is printed.
    await waitFor('the first log line', () => p!.stderr().includes('"msg":"access"'), 30_000);
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => p!.child.kill('SIGKILL'), 60_000);
    const { code, signal } = await p.exited;
    clearTimeout(timer);
    assert.equal(signal, null, 'it stopped by itself, not by the default action of SIGTERM');
    assert.equal(code, 0, p.stderr());
    assert.match(p.stderr(), /"signal":"SIGTERM".*"msg":"shutting down"/);
    await waitFor('no ffmpeg of it left', () => ffmpegChildren(p!.child.pid!).length === 0, 5000);
  } finally {
    reap(p);
    await rm(dir, { recursive: true, force: true });
  }
});

test('a captioner that does not load, after the summarizer and another captioner did: exits 1 naming the model', async () => {
  let p: LivecapProcess | undefined;
  try {
    p = livecap(['serve', '--port', '0', '--history', ':memory:', '--source', 'bars=testsrc://smptebars', '--captioner', 'bars=/nonexistent/captioner']);
    assert.match(await failedStart('a model that does not load', p), /\/nonexistent\/captioner\/captioner\.json: captioner manifest .* missing/);
  } finally {
    reap(p);
  }
});

test('a history folder that cannot be made: exits 1 naming the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-fail-'));
  let p: LivecapProcess | undefined;
  try {
    // A file where the folder should be.
    await writeFile(join(dir, 'state'), '');
    const file = join(dir, 'state', 'history.db');
    p = livecap(serveArgs(file));
    assert.match(await failedStart('no folder', p), new RegExp(`history store ${file}: cannot create its folder`));
  } finally {
    reap(p);
    await rm(dir, { recursive: true, force: true });
  }
});
