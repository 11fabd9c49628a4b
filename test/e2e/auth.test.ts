/**
 * Access tokens: viewer tokens read and watch, admin tokens also change streams; 401 without
 * a valid token, 403 for a viewer token where admin is needed, and close code 4401 on the
 * WebSocket. With no tokens the server stays open.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Auth, CLOSE_UNAUTHORIZED, requestToken } from '../../src/stream/auth.js';
import { startServer, type RunningServer } from '../../src/stream/server.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';

test('roles and what each configuration lets through', () => {
  const both = new Auth({ viewerTokens: ['v1', 'v2'], adminTokens: ['a1'] });
  assert.equal(both.roleOf('v2'), 'viewer');
  assert.equal(both.roleOf('a1'), 'admin');
  assert.equal(both.roleOf('v3'), undefined);
  assert.equal(both.roleOf('a'), undefined, 'a prefix is not the token');
  assert.deepEqual(
    ['viewer', 'admin'].map((r) => both.check(undefined, r as 'viewer')),
    [401, 401],
  );
  assert.deepEqual(
    ['viewer', 'admin'].map((r) => both.check('v1', r as 'viewer')),
    ['ok', 403],
  );
  assert.deepEqual(
    ['viewer', 'admin'].map((r) => both.check('a1', r as 'viewer')),
    ['ok', 'ok'],
  );

  const open = new Auth();
  assert.deepEqual([open.check(undefined, 'viewer'), open.check(undefined, 'admin')], ['ok', 'ok']);
  const adminOnly = new Auth({ adminTokens: ['a1'] });
  assert.deepEqual([adminOnly.check(undefined, 'viewer'), adminOnly.check(undefined, 'admin'), adminOnly.check('a1', 'admin')], ['ok', 401, 'ok']);
  const viewerOnly = new Auth({ viewerTokens: ['v1'] });
  assert.deepEqual([viewerOnly.check('v1', 'viewer'), viewerOnly.check('v1', 'admin'), viewerOnly.check(undefined, 'admin')], ['ok', 403, 401]);

  assert.equal(requestToken('Bearer abc', '/x?token=def'), 'abc');
  assert.equal(requestToken(undefined, '/ws?token=d%20f'), 'd f');
  assert.equal(requestToken('Basic abc', '/x'), undefined);
});

let server: RunningServer;
after(async () => {
  await server?.close();
  await releaseCaptioner(EMBEDDED_CAPTIONER);
});

test('over HTTP and WebSocket, each token gets what its role allows', async () => {
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    captioner: await acquireCaptioner(EMBEDDED_CAPTIONER),
    auth: { viewerTokens: ['viewer-secret'], adminTokens: ['admin-secret'] },
    pipeline: { output: { width: 160, height: 120, fps: 5 } },
  });
  const call = (path: string, token?: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' } });
  const post = (token?: string) => call('/api/streams', token, { method: 'POST', body: JSON.stringify({ id: 'bars', url: 'testsrc://smptebars' }) });

  const anonymous = await call('/api/streams');
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer realm="livecap"');
  assert.match((await anonymous.json()).error, /a token is needed/);
  assert.equal((await call('/api/streams', 'wrong')).status, 401);
  assert.equal((await call('/api/streams', 'viewer-secret')).status, 200);
  assert.equal((await fetch(`${server.url}/api/streams?token=viewer-secret`)).status, 200, 'the token may come as ?token=');
  assert.equal((await call('/metrics')).status, 401);
  assert.equal((await call('/metrics', 'viewer-secret')).status, 200);
  assert.equal((await call('/healthz')).status, 200, 'health stays open');
  assert.equal((await call('/')).status, 200, 'the viewer page loads, then asks for the token');

  assert.equal((await post()).status, 401);
  const viewerPost = await post('viewer-secret');
  assert.equal(viewerPost.status, 403);
  assert.match((await viewerPost.json()).error, /may read but not add or remove streams/);
  assert.equal((await post('admin-secret')).status, 201);
  assert.equal((await call('/api/streams/bars', 'viewer-secret', { method: 'DELETE' })).status, 403);
  assert.equal(server.streams.has('bars'), true);

  const closed = new WebSocket(server.url.replace('http', 'ws') + '/ws');
  const code = await new Promise<number>((resolve) => closed.once('close', (c) => resolve(c)));
  assert.equal(code, CLOSE_UNAUTHORIZED);

  const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws?token=viewer-secret');
  const hello = await new Promise<any>((resolve, reject) => ws.once('message', (d) => resolve(JSON.parse(d.toString()))).once('error', reject));
  assert.equal(hello.type, 'hello');
  assert.deepEqual(hello.streams, ['bars']);
  // A caption's keyframe follows the same rules: an <img> sends its token as ?token=.
  ws.send(JSON.stringify({ type: 'subscribe', streams: ['bars'] }));
  const caption = await new Promise<any>((resolve, reject) => {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'caption') resolve(m);
    });
    ws.once('error', reject);
  });
  assert.equal((await call(caption.keyframeUrl)).status, 401);
  const image = await fetch(`${server.url}${caption.keyframeUrl}?token=viewer-secret`);
  assert.equal(image.status, 200);
  assert.equal(image.headers.get('content-type'), 'image/jpeg');
  assert.match(image.headers.get('cache-control') ?? '', /^private/);
  ws.close();
  assert.equal((await call('/api/streams/bars', 'admin-secret', { method: 'DELETE' })).status, 204);
});
