import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { runFfmpeg } from '../../src/media/ffmpeg.js';
import type { RunningServer } from '../../src/stream/server.js';
import { waitFor } from '../helpers/processes.js';
import { startTestServer } from '../helpers/test-server.js';
import type { StreamMessage } from '../../src/core/events.js';

// A media folder beside a folder that must stay private, holding a real video each.
let dir: string;
let media: string;
let outside: string;
let server: RunningServer;
let events: StreamMessage[];
let close: () => Promise<void>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livecap-confine-'));
  media = join(dir, 'media');
  outside = join(dir, 'outside');
  await mkdir(media);
  await mkdir(outside);
  await writeVideo(videoScript(7, { duration: 6, width: 160, height: 120, fps: 10 }), join(outside, 'private.mp4'));
  await runFfmpeg(['-i', join(outside, 'private.mp4'), '-c', 'copy', '-f', 'mpegts', join(outside, 'private.ts')]);
  await writeVideo(videoScript(8, { duration: 6, width: 160, height: 120, fps: 10 }), join(media, 'own.mp4'));
  ({ server, events, close } = await startTestServer({ mediaDir: media, supervisor: { backoffInitialMs: 5000, backoffMaxMs: 5000 } }));
});

after(async () => {
  await close();
  await rm(dir, { recursive: true, force: true });
});

const post = (id: string, url: string) => fetch(`${server.url}/api/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, url }) });

test('a symbolic link in the media folder to a file outside it is refused', async () => {
  await symlink(join(outside, 'private.mp4'), join(media, 'link.mp4'));
  await mkdir(join(media, 'sub'));
  await symlink(outside, join(media, 'sub', 'dir'));
  for (const [id, url] of [
    ['link', 'link.mp4'],
    ['dirlink', 'sub/dir/private.mp4'],
    ['filelink', `file://${media}/link.mp4`],
  ]) {
    const res = await post(id, url);
    const body = (await res.json()) as { error: string };
    assert.equal(res.status, 400, `${url}: ${JSON.stringify(body)}`);
    assert.match(body.error, /leads outside the media folder/);
  }
  assert.equal(server.streams.has('link'), false);
});

test('a link that stays inside the media folder still plays', async () => {
  await symlink(join(media, 'own.mp4'), join(media, 'alias.mp4'));
  assert.equal((await post('alias', 'alias.mp4')).status, 201);
  await waitFor('alias live', () => events.find((e) => e.type === 'status' && e.stream === 'alias' && e.state === 'live'), 30_000);
  server.manager!.remove('alias');
});

test('playlists in the media folder are refused by name', async () => {
  await writeFile(join(media, 'list.m3u8'), `#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\n${join(outside, 'private.ts')}\n#EXT-X-ENDLIST\n`);
  const res = await post('list', 'list.m3u8');
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as { error: string }).error, /playlist or list of files/);
});

test('a playlist disguised as a video cannot play files outside the media folder', async () => {
  // An HLS playlist naming an absolute path, another naming ../outside, and an ffconcat list.
  await writeFile(join(media, 'abs.mp4'), `#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\n${join(outside, 'private.ts')}\n#EXT-X-ENDLIST\n`);
  await writeFile(join(media, 'rel.mp4'), `#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\n../outside/private.ts\n#EXT-X-ENDLIST\n`);
  await writeFile(join(media, 'cat.mp4'), `ffconcat version 1.0\nfile ${join(outside, 'private.mp4')}\n`);
  for (const id of ['abs', 'rel', 'cat']) assert.equal((await post(id, `${id}.mp4`)).status, 201);
  for (const id of ['abs', 'rel', 'cat']) {
    // The first status says what happened: it never went live.
    const first = await waitFor(`${id} status`, () => events.find((e) => e.type === 'status' && e.stream === id), 30_000);
    assert.equal(first.type === 'status' && first.state, 'reconnecting', `${id}: ${JSON.stringify(first)}`);
    assert.match((first as { error?: string }).error ?? '', /not a video/);
    assert.equal(events.filter((e) => e.type === 'caption' && e.stream === id).length, 0);
    server.manager!.remove(id);
  }
});
