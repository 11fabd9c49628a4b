import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { ffmpegPidsWith, waitFor } from '../helpers/processes.js';

test('livecap serve runs several sources, and SIGTERM stops every ffmpeg and exits 0', async () => {
  const media = await mkdtemp(join(tmpdir(), 'livecap-serve-'));
  try {
    await writeVideo(videoScript(12, { duration: 8, width: 160, height: 120, fps: 10 }), join(media, 'clip.mp4'));
    const child = spawn(
      process.execPath,
      [join(PROJECT_ROOT, 'bin', 'livecap.js'), 'serve', '--port', '0', '--history', ':memory:', '--media-dir', media, '--source', 'bars=testsrc://smptebars', '--source', 'clip=clip.mp4'],
      {
        env: { ...process.env, LIVECAP_LOG: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = await waitFor('serving line', () => /serving bars, clip at (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1], 60_000);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { streams } = (await (await fetch(`${url}/api/streams`)).json()) as { streams: { id: string; state: string }[] };
      if (streams.length === 2 && streams.every((s) => s.state === 'live')) break;
      if (Date.now() > deadline) assert.fail(`streams not live: ${JSON.stringify(streams)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(ffmpegPidsWith(media).length === 1 && ffmpegPidsWith('smptebars').length >= 1);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out);
    await waitFor('no ffmpeg left', () => ffmpegPidsWith(media).length === 0 && ffmpegPidsWith('smptebars').length === 0, 5000);
  } finally {
    await rm(media, { recursive: true, force: true });
  }
});

test('livecap serve with a bad source says what is wrong and exits non-zero', async () => {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'livecap.js'), 'serve', '--port', '0', '--history', ':memory:', '--source', 'x=ftp://admin:hunter2@cam/x'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LIVECAP_LOG: 'warn' },
  });
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 1);
  assert.match(err, /unsupported source scheme 'ftp:'/);
  assert.doesNotMatch(err, /hunter2/);
});

test('server logs are JSON lines that carry the stream id, with passwords redacted', async () => {
  const child = spawn(
    process.execPath,
    [join(PROJECT_ROOT, 'bin', 'livecap.js'), 'serve', '--port', '0', '--history', ':memory:', '--summarizer', 'none', '--source', 'cam=rtsp://admin:hunter2@127.0.0.1:9/none'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LIVECAP_LOG: 'info', LIVECAP_LOG_FORMAT: '' },
    },
  );
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  const lines = () =>
    err
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  // Nothing listens on port 9: the stream goes to reconnecting, and says so in its log.
  const failure = await waitFor('a reconnecting log line', () => lines().find((l) => l.stream === 'cam' && l.level === 'warn'), 30_000);
  assert.equal(typeof failure.time, 'string');
  assert.match(String(failure.msg), /^stream reconnecting/);
  const added = lines().find((l) => l.msg === 'stream added')!;
  assert.equal(added.url, 'rtsp://admin:***@127.0.0.1:9/none');
  assert.doesNotMatch(err, /hunter2/);
  child.kill('SIGTERM');
  assert.equal(await new Promise((resolve) => child.once('exit', resolve)), 0);
});

test('livecap serve takes --max-streams, --cors-origin and --allowed-host', async () => {
  const child = spawn(
    process.execPath,
    [
      join(PROJECT_ROOT, 'bin', 'livecap.js'),
      'serve',
      '--port',
      '0',
      '--history',
      ':memory:',
      '--summarizer',
      'none',
      '--source',
      'bars=testsrc://smptebars',
      '--max-streams',
      '1',
      '--cors-origin',
      'https://dash.example.com',
      '--allowed-host',
      'cams.example.com',
    ],
    {
      env: { ...process.env, LIVECAP_LOG: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  try {
    const url = await waitFor('serving line', () => /serving bars at (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1], 60_000);
    const full = await fetch(`${url}/api/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'two', url: 'testsrc://smptebars' }) });
    assert.equal(full.status, 503);
    const read = await fetch(`${url}/api/streams`, { headers: { origin: 'https://dash.example.com' } });
    assert.equal(read.headers.get('access-control-allow-origin'), 'https://dash.example.com');
    const { request } = await import('node:http');
    const status = (host: string) =>
      new Promise<number>((resolve, reject) =>
        request(`${url}/healthz`, { headers: { host } }, (res) => (res.resume(), resolve(res.statusCode!)))
          .on('error', reject)
          .end(),
      );
    assert.deepEqual([await status('cams.example.com'), await status('other.example.com')], [200, 403]);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
});
