/**
 * The real `livecap` command as a child process, for tests of what an operator sees: its
 * output, its exit status and how long it took to exit.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { waitFor } from './processes.js';

export interface LivecapProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited: its status (or signal) and milliseconds since it was started. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** The server's URL from its "livecap serving … at URL/" line. */
  url(timeoutMs?: number): Promise<string>;
}

export function livecap(args: string[], options: Pick<SpawnOptions, 'uid' | 'gid' | 'env'> = {}): LivecapProcess {
  const started = Date.now();
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'livecap.js'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
    env: { ...process.env, LIVECAP_LOG: 'warn', ...options.env },
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - started })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    url: (timeoutMs = 60_000) => waitFor(`the serving line (stderr: ${err.slice(-500)})`, () => / at (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1], timeoutMs),
  };
}

/** Kills a process still running at the end of a test, so a failed test leaves nothing behind. */
export function reap(p: LivecapProcess | undefined): void {
  if (p && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}

/** A WebSocket viewer of one stream that records the seq of every caption and summary it gets. */
export async function seqViewer(url: string, stream: string): Promise<{ seqs: number[]; socket: WebSocket }> {
  const socket = new WebSocket(url.replace('http', 'ws') + '/ws');
  const seqs: number[] = [];
  socket.on('message', (d) => {
    const m = JSON.parse(d.toString()) as { type: string; seq?: number };
    if (m.type === 'caption' || m.type === 'summary') seqs.push(m.seq!);
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'subscribe', streams: [stream] }));
  return { seqs, socket };
}

/** A metric's value (without labels) in a Prometheus text answer; NaN if absent. */
export const metricValue = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

/**
 * Starts `livecap args` again and checks that the stream's events carry on past `seen`, the
 * last seq a viewer got before: no seq is issued twice. Stops the process (SIGTERM, exit 0).
 */
export async function restartCarriesOn(args: string[], stream: string, seen: number, timeoutMs: number): Promise<void> {
  const p = livecap(args);
  try {
    const after = await seqViewer(await p.url(), stream);
    await waitFor('events after the restart', () => after.seqs.length >= 3, timeoutMs);
    console.log(`# after the restart: seq ${after.seqs[0]}..${after.seqs.at(-1)}`);
    for (const s of after.seqs) assert.ok(s > seen, `seq ${s} after the restart was already used before it (up to ${seen})`);
    after.socket.close();
    p.child.kill('SIGTERM');
    assert.equal((await p.exited).code, 0, p.stderr());
  } finally {
    reap(p);
  }
}
