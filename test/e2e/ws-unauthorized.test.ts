/**
 * A WebSocket client without a token is closed with 4401; whatever it sends meanwhile (here a
 * frame far over the 64 KiB cap) must not take the server down. The real `livecap serve` runs
 * as a child process, so a crash shows up as its exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import WebSocket from 'ws';
import { PROJECT_ROOT } from '../../src/paths.js';
import { waitFor } from '../helpers/processes.js';

test('an unauthenticated client sending a 200 KiB frame is closed and the server keeps answering', async () => {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'livecap.js'), 'serve', '--port', '0', '--history', ':memory:', '--summarizer', 'none', '--source', 'bars=testsrc://smptebars'], {
    env: { ...process.env, LIVECAP_LOG: 'warn', LIVECAP_VIEWER_TOKENS: 'viewer-secret-1', LIVECAP_ADMIN_TOKENS: 'admin-secret-1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  let exit: number | null | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', (code) => ((exit = code), resolve())));
  try {
    const url = await waitFor('serving line', () => /serving bars at (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1], 60_000);
    const ws = new WebSocket(url.replace('http', 'ws') + '/ws');
    ws.on('error', () => {});
    await new Promise((resolve, reject) => ws.once('open', resolve).once('close', reject));
    ws.send('x'.repeat(200 * 1024));
    const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    assert.ok(code === 4401 || code === 1009 || code === 1006, `closed with ${code}`);
    // Give a crash the time to happen, then the same process must still answer.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(exit, undefined, `the server exited (${exit}):\n${out}`);
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(exit, undefined, `the server exited (${exit}):\n${out}`);
  } finally {
    if (exit === undefined) child.kill('SIGTERM');
    await exited;
  }
  assert.equal(exit, 0, `a clean exit on SIGTERM:\n${out}`);
});
