import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { parseSource } from '../../src/ingest/source.js';
import { supervisedSource, type StatusReport, type SourceEvent } from '../../src/ingest/supervised-source.js';

/** A source's frames and status reports, each to its own callback. */
const each =
  (onFrame: () => void, onStatus: (report: StatusReport) => void = () => {}) =>
  (e: SourceEvent) =>
    e.type === 'frame' ? onFrame() : onStatus(e.report);
import { FFMPEG, runFfmpeg } from '../../src/media/ffmpeg.js';
import { ffmpegPidsWith, waitFor } from '../helpers/processes.js';
import { startTestServer } from '../helpers/test-server.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livecap-limits-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function shut(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

for (const path of ['/video.mjpg', '/live/stream'])
  test(`an MJPEG camera over HTTP (${path}) is analysed at the asked frame rate`, async (t) => {
    // A camera sending multipart/x-mixed-replace JPEGs at 10 fps, made by ffmpeg's mpjpeg muxer.
    let parts = 0;
    const camera = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace;boundary=ffmpeg' });
      const producer = spawn(FFMPEG, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10', '-q:v', '5', '-f', 'mpjpeg', '-'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      producer.stdout.on('data', (chunk: Buffer) => {
        parts += chunk.toString('latin1').split('--ffmpeg').length - 1;
        res.write(chunk);
      });
      res.on('close', () => producer.kill('SIGKILL'));
    });
    const origin = await listen(camera);
    let frames = 0;
    const subscription = supervisedSource(parseSource(`${origin}${path}`), { width: 160, height: 120, fps: 10 }).subscribe(each(() => frames++));
    try {
      await waitFor('first frames', () => frames >= 5, 30_000);
      const [frames0, parts0] = [frames, parts];
      await waitFor('50 more JPEGs sent', () => parts - parts0 >= 50, 60_000);
      // Frames still in the pipe catch up; what matters is the ratio, not the clock.
      await new Promise((r) => setTimeout(r, 500));
      const ratio = (frames - frames0) / (parts - parts0);
      t.diagnostic(`analysed/sent = ${frames - frames0}/${parts - parts0} = ${ratio.toFixed(2)}`);
      assert.ok(ratio > 0.6 && ratio < 1.4, `analysed ${frames - frames0} frames for ${parts - parts0} sent (ratio ${ratio.toFixed(2)}; before the fix it was about 0.4)`);
    } finally {
      subscription.unsubscribe();
      await shut(camera);
    }
  });

test('a file with ?loop=false plays once and the stream ends as stopped, not restarted', async () => {
  const media = join(dir, 'media');
  await mkdir(media);
  await writeVideo(videoScript(5, { duration: 3, width: 160, height: 120, fps: 10 }), join(media, 'short.mp4'));
  const { server, events, close } = await startTestServer({ mediaDir: media, supervisor: { backoffInitialMs: 200, backoffMaxMs: 400 } });
  try {
    server.manager!.add('once', `file://${media}/short.mp4?loop=false`);
    await waitFor('stopped', () => events.find((e) => e.type === 'status' && e.stream === 'once' && e.state === 'stopped'), 30_000);
    const states = events.filter((e) => e.type === 'status' && e.stream === 'once').map((e) => e as { state: string; error?: string });
    assert.deepEqual(
      states.map((s) => s.state),
      ['live', 'stopped'],
      JSON.stringify(states),
    );
    assert.equal(states[1]!.error, undefined, 'the end of a file played once is not an error');
    assert.equal(server.streams.get('once')?.state, 'stopped');
    assert.ok(
      events.some((e) => e.type === 'caption' && e.stream === 'once'),
      'the file was captioned',
    );
    // Nothing starts it again.
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(ffmpegPidsWith(media), []);
    assert.equal(events.filter((e) => e.type === 'status' && e.stream === 'once').length, 2);
  } finally {
    await close();
  }
});

test('an HLS master playlist that lists itself (directly or through a redirect), or nests masters, is refused before ffmpeg floods it', async () => {
  const requests = new Map<string, number>();
  const cdn = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.set(path.split('/')[1]!, (requests.get(path.split('/')[1]!) ?? 0) + 1);
    const n = Number(/\/nest\/(\d+)\.m3u8$/.exec(path)?.[1] ?? 0);
    if (path === '/redir/v.m3u8') return void res.writeHead(302, { location: '/redir/master.m3u8' }).end();
    if (path === '/redir/master.m3u8') return void res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' }).end('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\nv.m3u8\n');
    const body = path === '/self/master.m3u8' ? '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\nmaster.m3u8\n' : `#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\n${n + 1}.m3u8\n`;
    res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' }).end(body);
  });
  const origin = await listen(cdn);
  const { server, events, close } = await startTestServer({ supervisor: { backoffInitialMs: 200, backoffMaxMs: 400 } });
  try {
    server.manager!.add('self', `${origin}/self/master.m3u8`);
    server.manager!.add('nest', `${origin}/nest/0.m3u8`);
    server.manager!.add('redir', `${origin}/redir/master.m3u8`);
    for (const [id, reason] of [
      ['self', /lists itself as a variant/],
      ['nest', /is a master playlist again/],
      ['redir', /is a master playlist again/],
    ] as const) {
      // Three attempts, each refused with the reason.
      const refusals = await waitFor(
        `${id} refused three times`,
        () => {
          const r = events.filter((e) => e.type === 'status' && e.stream === id);
          return r.length >= 3 && r;
        },
        30_000,
      );
      for (const status of refusals) assert.match((status as { error?: string }).error ?? '', reason, JSON.stringify(status));
    }
    server.manager!.remove('self');
    server.manager!.remove('nest');
    server.manager!.remove('redir');
    // A handful of requests per attempt, not thousands a second.
    for (const id of ['self', 'nest', 'redir']) assert.ok((requests.get(id) ?? 0) < 30, `${requests.get(id)} requests for ${id}`);
  } finally {
    await close();
    await shut(cdn);
  }
});

test('an HLS source whose publisher died goes stalled and stays stalled until the publisher is back', async () => {
  const live = join(dir, 'live');
  await mkdir(live);
  await writeVideo(videoScript(9, { duration: 6, width: 160, height: 120, fps: 10 }), join(dir, 'studio.mp4'));
  // A live publisher: the clip looped into a 3-segment live playlist of 1 s segments.
  const publish = () =>
    spawn(
      FFMPEG,
      [
        '-hide_banner',
        '-nostdin',
        '-loglevel',
        'error',
        '-re',
        '-stream_loop',
        '-1',
        '-i',
        join(dir, 'studio.mp4'),
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-g',
        '10',
        '-f',
        'hls',
        '-hls_time',
        '1',
        '-hls_list_size',
        '3',
        '-hls_flags',
        'delete_segments',
        join(live, 'index.m3u8'),
      ],
      { stdio: 'ignore' },
    );
  const cdn = createServer(async (req, res) => {
    const name = (req.url ?? '/').split('?')[0]!.replace(/^\/+/, '');
    try {
      if (!/^[\w.-]+$/.test(name)) throw new Error('bad name');
      const body = await readFile(join(live, name));
      res.writeHead(200, { 'content-type': name.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  const origin = await listen(cdn);
  let publisher = publish();
  const { server, events, close } = await startTestServer({ supervisor: { stallTimeoutMs: 4000, backoffInitialMs: 300, backoffMaxMs: 600 } });
  const statuses = (from = 0) => events.slice(from).filter((e) => e.type === 'status' && e.stream === 'studio') as { state: string; error?: string }[];
  try {
    await waitFor('the publisher’s playlist', () => existsSync(join(live, 'index.m3u8')), 30_000);
    server.manager!.add('studio', `${origin}/index.m3u8`);
    await waitFor('live', () => statuses().some((s) => s.state === 'live'), 30_000);
    publisher.kill('SIGKILL');
    await waitFor('stalled', () => statuses().some((s) => s.state === 'stalled'), 30_000);
    const mark = events.length;
    // Several restarts are tried; none plays the dead publisher's segments again.
    await waitFor('three more attempts', () => statuses(mark).length >= 3, 30_000);
    assert.deepEqual([...new Set(statuses(mark).map((s) => s.state))], ['stalled'], JSON.stringify(statuses(mark)));
    assert.match(statuses(mark)[0]!.error ?? '', /playlist has not changed since the stream stalled/);
    assert.equal(server.streams.get('studio')?.state, 'stalled');
    // The publisher comes back: a new playlist, and the stream is live again.
    publisher = publish();
    await waitFor('live again', () => statuses(mark).some((s) => s.state === 'live'), 30_000);
  } finally {
    publisher.kill('SIGKILL');
    await close();
    await shut(cdn);
  }
});

test('an ffmpeg that a source makes grow without end is stopped at its memory limit', async (t) => {
  // A server that shows a plain playlist to anyone but ffmpeg, and ffmpeg a master playlist
  // that lists itself: the check before connecting passes, the memory limit has to hold.
  let requests = 0;
  const cloaked = createServer((req, res) => {
    requests++;
    const ffmpeg = /Lavf/.test(req.headers['user-agent'] ?? '');
    res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
    res.end(ffmpeg ? '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\nmaster.m3u8\n' : '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nsegment0.ts\n');
  });
  const origin = await listen(cloaked);
  const reports: string[] = [];
  const subscription = supervisedSource(
    parseSource(`${origin}/master.m3u8`),
    { width: 160, height: 120, fps: 10 },
    {
      maxMemoryBytes: 200 << 20,
      connectTimeoutMs: 120_000,
      backoffInitialMs: 60_000,
    },
  ).subscribe(
    each(
      () => {},
      (r) => r.error && reports.push(r.error.message),
    ),
  );
  try {
    const started = Date.now();
    await waitFor('the memory limit', () => reports.length > 0, 60_000);
    t.diagnostic(`stopped after ${Date.now() - started} ms and ${requests} requests`);
    assert.match(reports[0]!, /^too much memory: ffmpeg used \d+ MB, over its limit of 200 MB/);
    assert.deepEqual(ffmpegPidsWith(origin.replace('http://', '')), [], 'the process is gone');
  } finally {
    subscription.unsubscribe();
    await shut(cloaked);
  }
});

test('an HLS playlist at a URL without .m3u8 is read with its own timestamps', async () => {
  const vod = join(dir, 'vod');
  await mkdir(vod);
  await writeVideo(videoScript(11, { duration: 6, width: 160, height: 120, fps: 10 }), join(vod, 'clip.mp4'));
  await runFfmpeg(['-i', join(vod, 'clip.mp4'), '-c', 'copy', '-f', 'hls', '-hls_time', '2', '-hls_list_size', '0', join(vod, 'index.m3u8')]);
  // An origin that serves the playlist at /live/stream, as some packagers do.
  const cdn = createServer(async (req, res) => {
    const name = (req.url ?? '/').split('?')[0] === '/live/stream' ? 'index.m3u8' : (req.url ?? '/').split('/').pop()!;
    try {
      if (!/^[\w.-]+$/.test(name)) throw new Error('bad name');
      const body = await readFile(join(vod, name));
      res.writeHead(200, { 'content-type': name.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  const origin = await listen(cdn);
  let frames = 0;
  const ended = new Promise<string>((resolve) => {
    const subscription = supervisedSource(parseSource(`${origin}/live/stream`), { width: 160, height: 120, fps: 10 }).subscribe(
      each(
        () => frames++,
        (r) => {
          if (r.error) {
            subscription.unsubscribe();
            resolve(r.error.message);
          }
        },
      ),
    );
  });
  try {
    assert.match(await ended, /ended/);
    // Read as fast as it downloads, six seconds of video are still 60 frames at 10 fps; timed by
    // arrival instead, they would be a handful.
    assert.ok(frames >= 50 && frames <= 70, `${frames} frames`);
  } finally {
    await shut(cdn);
  }
});
