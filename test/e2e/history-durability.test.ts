/**
 * Durable history with the real server process: `kill -9` while captions flow, then a restart
 * on the same history file. Every caption a WebSocket viewer received is still in history,
 * the stream's sequence carries on where it stopped, and the killed server's ffmpeg goes away.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { ffmpegPidsWith, waitFor } from '../helpers/processes.js';

function serve(media: string, history: string): { child: ChildProcessWithoutNullStreams; url: Promise<string>; output: () => string } {
  const child = spawn(
    process.execPath,
    [join(PROJECT_ROOT, 'bin', 'livecap.js'), 'serve', '--port', '0', '--history', history, '--summarizer', 'none', '--media-dir', media, '--source', 'clip=clip.mp4'],
    {
      env: { ...process.env, LIVECAP_LOG: 'warn' },
    },
  );
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const url = waitFor('serving line', () => /serving clip at (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1], 60_000);
  return { child, url, output: () => out };
}

async function viewer(url: string, since: number): Promise<{ captions: { seq: number; text: string }[]; socket: WebSocket }> {
  const socket = new WebSocket(url.replace('http', 'ws') + '/ws');
  const captions: { seq: number; text: string }[] = [];
  socket.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.type === 'caption') captions.push({ seq: m.seq, text: m.text });
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'subscribe', streams: ['clip'], since: { clip: since } }));
  return { captions, socket };
}

test('after kill -9 and a restart, history holds every caption a viewer got, and seq carries on', async () => {
  const media = await mkdtemp(join(tmpdir(), 'livecap-durable-'));
  const history = join(media, 'state', 'history.db');
  try {
    // Short scenes: a caption every second or so.
    await writeVideo(videoScript(77, { duration: 12, minScene: 0.8, maxScene: 1.5, width: 160, height: 120, fps: 10 }), join(media, 'clip.mp4'));
    const first = serve(media, history);
    const before = await viewer(await first.url, 0);
    await waitFor('six captions', () => before.captions.length >= 6, 60_000);
    const ffmpeg = ffmpegPidsWith(media);
    assert.equal(ffmpeg.length, 1, 'the stream runs one ffmpeg');
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    before.socket.terminate();
    const received = [...before.captions];
    // Its ffmpeg loses the pipe it writes to and ends.
    await waitFor('the orphaned ffmpeg gone', () => ffmpegPidsWith(media).length === 0, 10_000);

    const second = serve(media, history);
    const url = await second.url;
    const { captions: stored } = (await (await fetch(`${url}/api/streams/clip/captions?since=0&limit=1000`)).json()) as { captions: { seq: number; text: string; type: string }[] };
    for (const c of received) {
      assert.ok(
        stored.some((s) => s.seq === c.seq && s.text === c.text),
        `caption ${c.seq} '${c.text}' is in history`,
      );
    }
    const last = Math.max(...stored.map((s) => s.seq));
    assert.deepEqual(
      stored.map((s) => s.seq),
      Array.from({ length: last }, (_, i) => i + 1),
      'no seq missing or repeated',
    );

    // A viewer resuming from what it saw gets the rest, then new captions numbered after it.
    const after = await viewer(url, received.at(-1)!.seq);
    const next = await waitFor('a caption after the restart', () => after.captions.find((c) => c.seq > last), 60_000);
    assert.equal(next.seq, last + 1, 'the sequence carries on');
    assert.deepEqual(
      after.captions.map((c) => c.seq),
      Array.from({ length: after.captions.length }, (_, i) => received.at(-1)!.seq + 1 + i),
      'no gap, no duplicate',
    );
    after.socket.close();
    second.child.kill('SIGTERM');
    assert.equal(await new Promise((resolve) => second.child.once('exit', resolve)), 0, second.output());
  } finally {
    await rm(media, { recursive: true, force: true });
  }
});
