/**
 * Other websites and a default server (no tokens, bound to 127.0.0.1): a page on another
 * origin cannot create streams, watch /ws or reach the server through a rebound DNS name; a
 * dashboard origin the operator names may read history and events, and still not write. Pages
 * run in a real Chromium; the other origins are plain servers on other ports of 127.0.0.1.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/stream/server.js';
import { CrossSite } from '../../src/stream/cross-site.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import { waitFor } from '../helpers/processes.js';

let server: RunningServer;
let evil: { server: Server; origin: string };
let dash: { server: Server; origin: string };
let browser: Browser;

/** A site on its own origin serving one empty page. */
async function site(): Promise<{ server: Server; origin: string }> {
  const s = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>'));
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return { server: s, origin: `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
}

before(async () => {
  [evil, dash] = [await site(), await site()];
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    captioner: await acquireCaptioner(EMBEDDED_CAPTIONER),
    corsOrigins: [dash.origin],
    allowedHosts: ['cams.example.com'],
    pipeline: { output: { width: 160, height: 120, fps: 5 } },
  });
  server.manager!.add('bars', 'testsrc://testsrc');
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    // rebind.test resolves to 127.0.0.1, as an attacker's name does after DNS rebinding.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP rebind.test 127.0.0.1',
    ],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await releaseCaptioner(EMBEDDED_CAPTIONER);
  evil?.server.close();
  dash?.server.close();
});

async function pageAt(origin: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(origin + '/');
  return page;
}

/** Opens a WebSocket from the page: 'hello' if the server's hello arrived, else 'refused'. */
const wsFromPage = (page: Page, url: string) =>
  page.evaluate(
    (u) =>
      new Promise<string>((resolve) => {
        const ws = new window.WebSocket(u);
        ws.onmessage = (e) => {
          resolve(JSON.parse(e.data).type);
          ws.close();
        };
        ws.onclose = () => resolve('refused');
      }),
    url,
  );

/** A raw request with any Host and Origin header (fetch may not set Host). */
function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path, headers }, (res) => {
      let text = '';
      res
        .setEncoding('utf8')
        .on('data', (c) => (text += c))
        .on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('a page on another origin cannot create a stream, even with a body that needs no preflight', async () => {
  const page = await pageAt(evil.origin);
  await page.evaluate(async (api) => {
    // Both are "simple" requests a browser sends without asking first; the answers are opaque.
    // The request reaches the server; what comes back is withheld (Cross-Origin-Resource-Policy).
    await fetch(`${api}/api/streams`, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ id: 'planted', url: 'testsrc://smptebars' }) }).catch(
      () => undefined,
    );
    const form = Object.assign(document.createElement('form'), { method: 'POST', action: `${api}/api/streams`, enctype: 'text/plain' });
    const field = Object.assign(document.createElement('input'), { name: '{"id":"formed","url":"testsrc://smptebars","x":"', value: '"}' });
    form.append(field);
    document.body.append(form);
    form.submit();
  }, server.url);
  await page.waitForURL(`${server.url}/api/streams`);
  assert.match((await page.content()) ?? '', /may not change anything here/);
  await page.close();
  assert.deepEqual(
    server.streams.list().map((s) => s.id),
    ['bars'],
  );
});

test("a page on another origin cannot open /ws; the server's own page and a configured dashboard can", async () => {
  const ws = server.url.replace('http', 'ws') + '/ws';
  const stranger = await pageAt(evil.origin);
  assert.equal(await wsFromPage(stranger, ws), 'refused');
  const board = await pageAt(dash.origin);
  assert.equal(await wsFromPage(board, ws), 'hello');
  const own = await pageAt(server.url);
  assert.equal(await wsFromPage(own, ws), 'hello');
  await Promise.all([stranger.close(), board.close(), own.close()]);
});

test('a configured dashboard origin reads history and events; other origins cannot, and neither may write', async () => {
  await waitFor('a caption', () => server.streams.get('bars')!.lastSeq > 0, 60_000);
  const readAll = (page: Page) =>
    page.evaluate(async (api) => {
      const attempt = async (f: () => Promise<unknown>) => {
        try {
          return await f();
        } catch (err) {
          return `failed: ${(err as Error).name}`;
        }
      };
      return {
        history: await attempt(async () => (await (await fetch(`${api}/api/streams/bars/captions?since=0&limit=1`)).json()).captions.length),
        search: await attempt(async () => (await fetch(`${api}/api/search?q=square`)).status),
        events: await new Promise<string>((resolve) => {
          const source = new EventSource(`${api}/api/streams/bars/events?since=0`);
          source.addEventListener('caption', () => (source.close(), resolve('caption')));
          source.onerror = () => (source.close(), resolve('failed'));
        }),
        create: await attempt(
          async () =>
            (await fetch(`${api}/api/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'dash1', url: 'testsrc://smptebars' }) })).status,
        ),
        remove: await attempt(async () => (await fetch(`${api}/api/streams/bars`, { method: 'DELETE' })).status),
      };
    }, server.url);
  const board = await pageAt(dash.origin);
  assert.deepEqual(await readAll(board), { history: 1, search: 200, events: 'caption', create: 'failed: TypeError', remove: 'failed: TypeError' });
  const stranger = await pageAt(evil.origin);
  assert.deepEqual(await readAll(stranger), { history: 'failed: TypeError', search: 'failed: TypeError', events: 'failed', create: 'failed: TypeError', remove: 'failed: TypeError' });
  await Promise.all([board.close(), stranger.close()]);
  assert.deepEqual(
    server.streams.list().map((s) => s.id),
    ['bars'],
  );
});

test('a rebound DNS name reaches the loopback server but is refused, over HTTP and /ws', async () => {
  const page = await browser.newPage();
  const res = await page.goto(`http://rebind.test:${server.port}/`);
  assert.equal(res?.status(), 403);
  assert.match(await res!.text(), /does not answer for host 'rebind\.test:\d+'.*--allowed-host/);
  assert.equal(await wsFromPage(page, `ws://rebind.test:${server.port}/ws`), 'refused');
  await page.close();
  const api = await raw('GET', '/api/streams', { host: 'rebind.test' });
  assert.equal(api.status, 403);
  assert.equal(api.headers['x-content-type-options'], 'nosniff');
  for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`, `[::1]:${server.port}`, 'localhost', 'cams.example.com', 'CAMS.example.com:443'])
    assert.equal((await raw('GET', '/api/streams', { host })).status, 200, host);
  for (const host of ['cams.example.com.evil.org', '127.0.0.2', 'localhost.', '[::2]']) assert.equal((await raw('GET', '/healthz', { host })).status, 403, host);
});

test('curl and scripts (no Origin) keep working; writes need JSON and an allowed Origin', async () => {
  const body = JSON.stringify({ id: 'scripted', url: 'testsrc://smptebars' });
  const self = `127.0.0.1:${server.port}`;
  const text = await raw('POST', '/api/streams', { host: self, 'content-type': 'text/plain' }, body);
  assert.equal(text.status, 415);
  assert.match(JSON.parse(text.body).error, /Content-Type: application\/json \(got 'text\/plain'\)/);
  assert.equal((await raw('POST', '/api/streams', { host: self, 'content-type': 'application/x-www-form-urlencoded' }, body)).status, 415);
  assert.equal((await raw('POST', '/api/streams', { host: self }, body)).status, 415);
  const foreign = await raw('POST', '/api/streams', { host: self, origin: evil.origin, 'content-type': 'application/json' }, body);
  assert.equal(foreign.status, 403);
  assert.match(JSON.parse(foreign.body).error, /requests from the origin 'http:\/\/127\.0\.0\.1:\d+' may not change anything here/);
  assert.equal((await raw('DELETE', '/api/streams/bars', { host: self, origin: 'null' })).status, 403);
  assert.equal(server.streams.has('scripted'), false);
  assert.equal((await raw('POST', '/api/streams', { host: self, origin: server.url, 'content-type': 'application/json; charset=utf-8' }, body)).status, 201, "the server's own page");
  assert.equal((await raw('DELETE', '/api/streams/scripted', { host: self })).status, 204, 'no Origin: curl');

  // The ws client sends no Origin unless told to.
  const opened = (origin?: string) =>
    new Promise<string>((resolve) => {
      const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws', origin ? { origin } : {});
      ws.once('message', () => (ws.close(), resolve('hello')));
      ws.once('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      ws.once('error', () => resolve('error'));
    });
  assert.deepEqual([await opened(), await opened(server.url), await opened(dash.origin), await opened(evil.origin), await opened('null')], ['hello', 'hello', 'hello', '403', '403']);
});

test('every answer carries the security headers, and the viewer works under its CSP', async () => {
  for (const path of ['/', '/viewer/viewer.js', '/api/streams', '/nope', '/metrics']) {
    const res = await fetch(server.url + path);
    assert.match(
      res.headers.get('content-security-policy') ?? '',
      /default-src 'self'.*img-src 'self' data:.*connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:\/\/127\.0\.0\.1:\d+.*frame-ancestors 'none'/,
      path,
    );
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
    assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
  }
  const page = await browser.newPage();
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  await page.goto(`${server.url}/?stream=bars`);
  await page.waitForSelector('#status[data-state="live"]', { timeout: 30_000 });
  // The keyframe loads from the server under the page's content security policy.
  await page.waitForFunction(() => ((document.querySelector('#keyframe') as HTMLImageElement | null)?.naturalWidth ?? 0) > 0, undefined, { timeout: 60_000 });
  // Framing by another site is refused by the browser, which says so in the framing page's console.
  const framer = await pageAt(evil.origin);
  const refusal = framer.waitForEvent('console', { predicate: (m) => /frame-ancestors/.test(m.text()), timeout: 20_000 });
  await framer.evaluate((url) => document.body.append(Object.assign(document.createElement('iframe'), { src: url })), server.url + '/');
  assert.match((await refusal).text(), /frame-ancestors 'none'/);
  assert.deepEqual(violations, []);
  await Promise.all([page.close(), framer.close()]);
});

test('the Host check applies when bound to a loopback address or given names; Origin ports compare with defaults', () => {
  const open = new CrossSite({ host: '0.0.0.0' });
  assert.equal(open.hostProblem('cams.example.com'), undefined);
  const named = new CrossSite({ host: '0.0.0.0', allowedHosts: ['cams.example.com'] });
  assert.equal(named.hostProblem('cams.example.com:8080'), undefined);
  assert.match(named.hostProblem('192.168.1.5:8080') ?? '', /does not answer for host '192\.168\.1\.5:8080'; start it with --allowed-host NAME/);
  assert.match(named.hostProblem('0.0.0.0:8080') ?? '', /does not answer/, 'the unspecified address is no name');
  assert.equal(open.originAllowed('https://x.org', 'x.org:443'), true);
  assert.equal(open.originAllowed('http://x.org', 'x.org:80'), true);
  assert.equal(open.originAllowed('https://x.org', 'x.org:80'), false);
  assert.equal(open.originAllowed('http://x.org:8080', 'x.org:8081'), false);
  assert.equal(open.originAllowed('http://x.org', undefined), false);
  assert.equal(open.originAllowed('http://x.org', 'evil@x.org'), false, 'a Host that is no host name');
  assert.equal(open.originAllowed('null', 'x.org'), false);
  assert.equal(open.originAllowed(undefined, 'x.org'), true, 'no Origin: not a browser page');
  const v6 = new CrossSite({ host: '::1' });
  assert.equal(v6.hostProblem('[::1]:8080'), undefined);
  assert.match(v6.hostProblem('example.com') ?? '', /does not answer for host 'example\.com'/);
  const bound = new CrossSite({ host: '127.0.0.2' });
  assert.equal(bound.hostProblem('127.0.0.2:8080'), undefined, 'the address it is bound to');
});
