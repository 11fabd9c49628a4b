/**
 * /openapi.json against the server itself: every route's documented answers are given by the
 * server in this test (with tokens on, a creation rate limit and a stream cap), and every
 * answer the server gives here is documented for its route. Its security schemes are the ones
 * the server takes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startServer, type RunningServer } from '../../src/stream/server.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import { encodeJpeg } from '../../src/media/image.js';
import { keyframeUrl } from '../../src/core/events.js';

interface Operation {
  security?: unknown[];
  responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }>;
}
interface Doc {
  security: Record<string, unknown>[];
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme?: string; in?: string; name?: string }> };
}

let server: RunningServer;
before(async () => {
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    captioner: await acquireCaptioner(EMBEDDED_CAPTIONER),
    auth: { viewerTokens: ['viewer-secret'], adminTokens: ['admin-secret'] },
    streamCreation: { perMinute: 1, burst: 2 },
    maxStreams: 2,
    pipeline: { output: { width: 160, height: 120, fps: 5 } },
    rules: [{ id: 'configured', match: 'red car' }],
  });
  server.manager!.add('a', 'testsrc://smptebars');
  // A frame of 'a' for its snapshot.
  for (let i = 0; i < 400 && !server.manager!.latestFrame('a'); i++) await new Promise((r) => setTimeout(r, 50));
  // A caption with its keyframe in the history of a stream that ran before (no waiting on 'a').
  const now = Date.now();
  server.streams.store.append(
    { type: 'caption', stream: 'past', seq: 1, ts: now, frameTs: now, text: 'a red circle', latencyMs: 1, keyframeUrl: keyframeUrl('past', 1) },
    encodeJpeg({ width: 16, height: 12, data: new Uint8Array(16 * 12 * 3).fill(90) }),
  );
});
after(async () => {
  await server?.close();
  await releaseCaptioner(EMBEDDED_CAPTIONER);
});

interface Ask {
  token?: 'viewer' | 'admin';
  host?: string;
  origin?: string;
  type?: string;
  body?: string;
  headers?: Record<string, string>;
}
interface Answer {
  status: number;
  type: string;
  headers: Record<string, unknown>;
  body: string;
}

/** One request; an event stream is cut off once its headers are in. */
function ask(method: string, path: string, a: Ask): Promise<Answer> {
  const headers: Record<string, string> = { host: a.host ?? `127.0.0.1:${server.port}`, ...a.headers };
  if (a.token) headers.authorization = `Bearer ${a.token}-secret`;
  if (a.origin) headers.origin = a.origin;
  if (a.body !== undefined) headers['content-type'] = a.type ?? 'application/json';
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path, headers }, (res) => {
      const answer = { status: res.statusCode!, type: String(res.headers['content-type'] ?? ''), headers: res.headers, body: '' };
      if (answer.type.startsWith('text/event-stream')) {
        res.destroy();
        return resolve(answer);
      }
      res
        .setEncoding('utf8')
        .on('data', (c) => (answer.body += c))
        .on('end', () => resolve(answer));
    });
    req.on('error', reject);
    req.end(a.body);
  });
}

const stream = (id: string) => JSON.stringify({ id, url: 'testsrc://smptebars' });
const rule = (id: string, match = 'person') => JSON.stringify({ id, match });
const evilHost = { host: 'rebind.example:80' };

// [method, documented path, real path, request, the answer it must get]. Order matters for
// the creation budget (burst 2) and the cap (2 streams, 'a' among them).
const CASES: [string, string, string, Ask, number][] = [
  ['GET', '/healthz', '/healthz', {}, 200],
  ['GET', '/healthz', '/healthz', evilHost, 403],
  ['GET', '/readyz', '/readyz', {}, 200],
  ['GET', '/readyz', '/readyz', evilHost, 403],
  ['GET', '/metrics', '/metrics', { token: 'viewer' }, 200],
  ['GET', '/metrics', '/metrics', {}, 401],
  ['GET', '/metrics', '/metrics', { token: 'viewer', ...evilHost }, 403],
  ['GET', '/openapi.json', '/openapi.json', {}, 200],
  ['GET', '/openapi.json', '/openapi.json', evilHost, 403],
  ['GET', '/api/streams', '/api/streams', { token: 'viewer' }, 200],
  ['GET', '/api/streams', '/api/streams', {}, 401],
  ['GET', '/api/streams', '/api/streams', { token: 'viewer', ...evilHost }, 403],
  ['GET', '/api/cluster', '/api/cluster', { token: 'viewer' }, 200],
  ['GET', '/api/cluster', '/api/cluster', {}, 401],
  ['GET', '/api/cluster', '/api/cluster', { token: 'viewer', ...evilHost }, 403],
  ['POST', '/api/streams', '/api/streams', { token: 'admin', body: stream('b') }, 201],
  ['POST', '/api/streams', '/api/streams', { token: 'admin', body: stream('bad id!') }, 400],
  ['POST', '/api/streams', '/api/streams', { token: 'admin', body: '[1]' }, 400],
  ['POST', '/api/streams', '/api/streams', { body: stream('c') }, 401],
  ['POST', '/api/streams', '/api/streams', { token: 'viewer', body: stream('c') }, 403],
  ['POST', '/api/streams', '/api/streams', { token: 'admin', origin: 'http://evil.example', body: stream('c') }, 403],
  ['POST', '/api/streams', '/api/streams', { token: 'admin', body: stream('a') }, 409],
  ['POST', '/api/streams', '/api/streams', { token: 'admin', body: JSON.stringify({ id: 'c', url: 'x'.repeat(20_000) }) }, 413],
  ['POST', '/api/streams', '/api/streams', { token: 'admin', type: 'text/plain', body: stream('c') }, 415],
  ['POST', '/api/streams', '/api/streams', { token: 'admin', body: stream('c') }, 503],
  ['DELETE', '/api/streams/{id}', '/api/streams/b', { token: 'admin' }, 204],
  ['POST', '/api/streams', '/api/streams', { token: 'admin', body: stream('d') }, 201],
  ['DELETE', '/api/streams/{id}', '/api/streams/d', { token: 'admin' }, 204],
  ['POST', '/api/streams', '/api/streams', { token: 'admin', body: stream('e') }, 429],
  ['DELETE', '/api/streams/{id}', '/api/streams/a', {}, 401],
  ['DELETE', '/api/streams/{id}', '/api/streams/a', { token: 'viewer' }, 403],
  ['DELETE', '/api/streams/{id}', '/api/streams/nope', { token: 'admin' }, 404],
  ['GET', '/api/streams/{id}', '/api/streams/a', { token: 'viewer' }, 200],
  ['GET', '/api/streams/{id}', '/api/streams/a', {}, 401],
  ['GET', '/api/streams/{id}', '/api/streams/a', { token: 'viewer', ...evilHost }, 403],
  ['GET', '/api/streams/{id}', '/api/streams/nope', { token: 'viewer' }, 404],
  ...(['captions', 'captions.vtt', 'captions.srt', 'events'] as const).flatMap((what): [string, string, string, Ask, number][] => {
    const bad = { captions: '?limit=-1', 'captions.vtt': '?from=yesterday', 'captions.srt': '?to=soon', events: '?since=x' }[what];
    return [
      ['GET', `/api/streams/{id}/${what}`, `/api/streams/a/${what}`, { token: 'viewer' }, 200],
      ['GET', `/api/streams/{id}/${what}`, `/api/streams/a/${what}${bad}`, { token: 'viewer' }, 400],
      ['GET', `/api/streams/{id}/${what}`, `/api/streams/a/${what}`, {}, 401],
      ['GET', `/api/streams/{id}/${what}`, `/api/streams/a/${what}`, { token: 'viewer', ...evilHost }, 403],
      ['GET', `/api/streams/{id}/${what}`, `/api/streams/nope/${what}`, { token: 'viewer' }, 404],
    ];
  }),
  ['GET', '/api/streams/{id}/keyframes/{file}', '/api/streams/past/keyframes/1.jpg', { token: 'viewer' }, 200],
  ['GET', '/api/streams/{id}/keyframes/{file}', '/api/streams/past/keyframes/1.jpg', { token: 'viewer', headers: { 'if-none-match': '"1"' } }, 304],
  ['GET', '/api/streams/{id}/keyframes/{file}', '/api/streams/past/keyframes/first.jpg', { token: 'viewer' }, 400],
  ['GET', '/api/streams/{id}/keyframes/{file}', '/api/streams/past/keyframes/1.jpg', {}, 401],
  ['GET', '/api/streams/{id}/keyframes/{file}', '/api/streams/past/keyframes/1.jpg', { token: 'viewer', ...evilHost }, 403],
  ['GET', '/api/streams/{id}/keyframes/{file}', '/api/streams/past/keyframes/2.jpg', { token: 'viewer' }, 404],
  ['GET', '/api/search', '/api/search?q=red', { token: 'viewer' }, 200],
  ['GET', '/api/search', '/api/search', { token: 'viewer' }, 400],
  ['GET', '/api/search', '/api/search?q=red', {}, 401],
  ['GET', '/api/search', '/api/search?q=red', { token: 'viewer', ...evilHost }, 403],
  ['GET', '/api/streams/{id}/snapshot.jpg', '/api/streams/a/snapshot.jpg', { token: 'viewer' }, 200],
  ['GET', '/api/streams/{id}/snapshot.jpg', '/api/streams/a/snapshot.jpg', {}, 401],
  ['GET', '/api/streams/{id}/snapshot.jpg', '/api/streams/a/snapshot.jpg', { token: 'viewer', ...evilHost }, 403],
  ['GET', '/api/streams/{id}/snapshot.jpg', '/api/streams/nope/snapshot.jpg', { token: 'viewer' }, 404],
  ['GET', '/api/streams/{id}/live/{file}', '/api/streams/a/live/index.m3u8', { token: 'viewer' }, 200],
  ['GET', '/api/streams/{id}/live/{file}', '/api/streams/a/live/index.html', { token: 'viewer' }, 400],
  ['GET', '/api/streams/{id}/live/{file}', '/api/streams/a/live/index.m3u8', {}, 401],
  ['GET', '/api/streams/{id}/live/{file}', '/api/streams/a/live/index.m3u8', { token: 'viewer', ...evilHost }, 403],
  ['GET', '/api/streams/{id}/live/{file}', '/api/streams/nope/live/index.m3u8', { token: 'viewer' }, 404],
  ['GET', '/api/streams/{id}/live/{track}/{file}', '/api/streams/a/live/captions/0.vtt', { token: 'viewer' }, 200],
  ['GET', '/api/streams/{id}/live/{track}/{file}', '/api/streams/a/live/captions/zero.vtt', { token: 'viewer' }, 400],
  ['GET', '/api/streams/{id}/live/{track}/{file}', '/api/streams/a/live/captions/0.vtt', {}, 401],
  ['GET', '/api/streams/{id}/live/{track}/{file}', '/api/streams/a/live/captions/0.vtt', { token: 'viewer', ...evilHost }, 403],
  ['GET', '/api/streams/{id}/live/{track}/{file}', '/api/streams/a/live/descriptions/999999.vtt', { token: 'viewer' }, 404],
  ['GET', '/api/webhooks', '/api/webhooks', { token: 'viewer' }, 200],
  ['GET', '/api/webhooks', '/api/webhooks', {}, 401],
  ['GET', '/api/webhooks', '/api/webhooks', { token: 'viewer', ...evilHost }, 403],
  ['POST', '/api/rules', '/api/rules', { token: 'admin', body: rule('door') }, 201],
  ['POST', '/api/rules', '/api/rules', { token: 'admin', body: JSON.stringify({ id: 'bad', regex: '(a+)+' }) }, 400],
  ['POST', '/api/rules', '/api/rules', { body: rule('r2') }, 401],
  ['POST', '/api/rules', '/api/rules', { token: 'viewer', body: rule('r2') }, 403],
  ['POST', '/api/rules', '/api/rules', { token: 'admin', body: rule('door') }, 409],
  ['POST', '/api/rules', '/api/rules', { token: 'admin', body: JSON.stringify({ id: 'big', match: 'x'.repeat(20_000) }) }, 413],
  ['POST', '/api/rules', '/api/rules', { token: 'admin', type: 'text/plain', body: rule('r2') }, 415],
  ['GET', '/api/rules', '/api/rules', { token: 'viewer' }, 200],
  ['GET', '/api/rules', '/api/rules', {}, 401],
  ['GET', '/api/rules', '/api/rules', { token: 'viewer', ...evilHost }, 403],
  ['GET', '/api/rules/{id}', '/api/rules/door', { token: 'viewer' }, 200],
  ['GET', '/api/rules/{id}', '/api/rules/door', {}, 401],
  ['GET', '/api/rules/{id}', '/api/rules/door', { token: 'viewer', ...evilHost }, 403],
  ['GET', '/api/rules/{id}', '/api/rules/nope', { token: 'viewer' }, 404],
  ['PUT', '/api/rules/{id}', '/api/rules/door', { token: 'admin', body: rule('door', 'dog') }, 200],
  ['PUT', '/api/rules/{id}', '/api/rules/yard', { token: 'admin', body: rule('yard') }, 201],
  ['PUT', '/api/rules/{id}', '/api/rules/yard', { token: 'admin', body: rule('other') }, 400],
  ['PUT', '/api/rules/{id}', '/api/rules/yard', { body: rule('yard') }, 401],
  ['PUT', '/api/rules/{id}', '/api/rules/yard', { token: 'viewer', body: rule('yard') }, 403],
  ['PUT', '/api/rules/{id}', '/api/rules/configured', { token: 'admin', body: rule('configured') }, 409],
  ['PUT', '/api/rules/{id}', '/api/rules/yard', { token: 'admin', body: JSON.stringify({ id: 'yard', match: 'x'.repeat(20_000) }) }, 413],
  ['PUT', '/api/rules/{id}', '/api/rules/yard', { token: 'admin', type: 'text/plain', body: rule('yard') }, 415],
  ['DELETE', '/api/rules/{id}', '/api/rules/yard', { token: 'admin' }, 204],
  ['DELETE', '/api/rules/{id}', '/api/rules/door', {}, 401],
  ['DELETE', '/api/rules/{id}', '/api/rules/door', { token: 'viewer' }, 403],
  ['DELETE', '/api/rules/{id}', '/api/rules/yard', { token: 'admin' }, 404],
  ['DELETE', '/api/rules/{id}', '/api/rules/configured', { token: 'admin' }, 409],
];

// Answers that need a history store that cannot be written, or a server at one of its caps;
// the tests named show them.
const SHOWN_ELSEWHERE: Record<string, string> = {
  'GET /readyz 503': 'test/e2e/store-unavailable.test.ts and test/e2e/history-full.test.ts',
  'DELETE /api/streams/{id} 503': 'test/e2e/store-unavailable.test.ts',
  'GET /api/streams/{id}/events 503': 'test/e2e/replay-limits.test.ts (past the cap on SSE connections)',
  'GET /api/search 429': 'test/e2e/search-limits.test.ts (past the cap on concurrent searches)',
  'POST /api/rules 503': 'test/e2e/store-unavailable.test.ts',
  'GET /api/streams/{id}/snapshot.jpg 304': 'test/e2e/snapshot.test.ts (a frame asked for again before a newer one came)',
  'PUT /api/rules/{id} 503': 'test/e2e/store-unavailable.test.ts',
  'GET /api/streams/{id}/live/{file} 501': 'test/e2e/cluster-nodes.test.ts (live video on a cluster node)',
  'GET /api/streams/{id}/live/{track}/{file} 501': 'test/e2e/cluster-nodes.test.ts (live video on a cluster node)',
  'GET /api/streams/{id}/live/{file} 503': 'test/e2e/live-video.test.ts (a stream that never goes live)',
  'GET /api/streams/{id}/live/{track}/{file} 503': 'test/e2e/live-video.test.ts (a stream that never goes live)',
  'DELETE /api/rules/{id} 503': 'test/e2e/store-unavailable.test.ts',
};

test('each route answers exactly what /openapi.json documents for it', async () => {
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as Doc;
  const seen = new Set<string>();
  for (const [method, route, path, a, expected] of CASES) {
    const answer = await ask(method, path, a);
    const what = `${method} ${path} ${JSON.stringify({ ...a, body: a.body?.slice(0, 60) })}`;
    assert.equal(answer.status, expected, `${what}: ${answer.body}`);
    const responses = doc.paths[route]?.[method.toLowerCase()]?.responses;
    assert.ok(responses, `${method} ${route} is described`);
    const documented = responses[String(answer.status)];
    assert.ok(documented, `${what} answered ${answer.status}, which /openapi.json does not list for ${method} ${route}`);
    seen.add(`${method} ${route} ${answer.status}`);
    if (answer.status >= 400) assert.equal(typeof JSON.parse(answer.body).error, 'string', `${what}: an Error body`);
    if (documented.content)
      assert.ok(
        Object.keys(documented.content).some((t) => answer.type.startsWith(t)),
        `${what}: ${answer.type} is documented`,
      );
    for (const header of Object.keys(documented.headers ?? {})) assert.ok(answer.headers[header.toLowerCase()], `${what}: carries ${header}`);
  }
  for (const [route, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      for (const status of Object.keys(op.responses))
        assert.ok(
          seen.has(`${method.toUpperCase()} ${route} ${status}`) || SHOWN_ELSEWHERE[`${method.toUpperCase()} ${route} ${status}`],
          `${method.toUpperCase()} ${route} documents ${status}, which no request here got`,
        );
    }
  }
});

test('the security schemes are the ones the server takes, and open routes say so', async () => {
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as Doc;
  assert.deepEqual(doc.components.securitySchemes.bearer, { ...doc.components.securitySchemes.bearer, type: 'http', scheme: 'bearer' });
  assert.deepEqual(doc.components.securitySchemes.token, { ...doc.components.securitySchemes.token, type: 'apiKey', in: 'query', name: 'token' });
  assert.deepEqual(doc.security, [{ bearer: [] }, { token: [] }]);
  for (const route of ['/healthz', '/readyz', '/openapi.json']) {
    assert.deepEqual(doc.paths[route]!.get!.security, []);
    assert.equal((await ask('GET', route, {})).status, 200, `${route} needs no token`);
  }
  assert.equal((await ask('GET', '/api/streams?token=viewer-secret', {})).status, 200, 'the query token');
  for (const [route, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) if (!['/healthz', '/readyz', '/openapi.json'].includes(route)) assert.equal(op.security, undefined, `${method} ${route} takes the tokens`);
  }
});
