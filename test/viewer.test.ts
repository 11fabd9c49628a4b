import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startServer, type RunningServer } from '../src/stream/server.js';
import { videoScript, writeVideo } from '../src/synth/video.js';
import { acquireCaptioner, releaseCaptioner } from '../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER, PROJECT_ROOT } from '../src/paths.js';

let media: string;
let server: RunningServer;
let browser: Browser;

before(async () => {
  media = await mkdtemp(join(tmpdir(), 'livecap-viewer-'));
  const clip = join(media, 'demo.mp4');
  await writeVideo(videoScript(7, { duration: 20 }), clip);
  const captioner = await acquireCaptioner(EMBEDDED_CAPTIONER);
  server = await startServer({ host: '127.0.0.1', port: 0, mediaDir: media, captioner, pipeline: { output: { width: 160, height: 120, fps: 10 } } });
  server.addSource('demo', { kind: 'file', input: clip, loop: true }, 'demo');
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await server.close();
  await releaseCaptioner(EMBEDDED_CAPTIONER);
  await rm(media, { recursive: true, force: true });
});

test('the viewer loads, connects, and shows live captions from the demo stream in a live region', async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(server.url + '/');
  await page.waitForSelector('#status[data-state="live"]', { timeout: 30_000 });
  await page.waitForFunction(() => document.querySelector('#current')?.hasAttribute('data-seq'), undefined, { timeout: 30_000 });
  const caption = await page.textContent('#current');
  assert.match(caption ?? '', /\b(circle|square|triangle|star|cross|circles|squares|triangles|stars|crosses|shapes)\b/);
  assert.equal(await page.getAttribute('#current', 'aria-live'), 'polite');
  assert.equal(await page.inputValue('#stream'), 'demo');
  assert.match((await page.getAttribute('#keyframe', 'src')) ?? '', /^data:image\/jpeg/);
  // Keyboard: the stream picker is reachable with Tab.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'stream');
  // A second caption pushes the first into the history.
  await page.waitForSelector('#history li', { timeout: 40_000 });
  await mkdir(join(PROJECT_ROOT, 'test-output'), { recursive: true });
  await page.screenshot({ path: join(PROJECT_ROOT, 'test-output', 'viewer.png') });
  assert.deepEqual(errors, []);
});

test('the viewer shows the stream going away and reconnects by itself after a server hiccup', async () => {
  const page = await browser.newPage();
  await page.goto(server.url + '/?stream=demo');
  await page.waitForSelector('#status[data-state="live"]', { timeout: 30_000 });
  // Drop every viewer socket as a restart would; the page must come back on its own.
  for (const client of (server.hub as unknown as { viewers: Set<{ socket: { terminate(): void } }> }).viewers) client.socket.terminate();
  await page.waitForSelector('#status[data-state="offline"]', { timeout: 5000 });
  await page.waitForSelector('#status[data-state="live"]', { timeout: 15_000 });
});

test('the viewer searches every caption and links the subtitles of the stream', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(server.url + '/?stream=demo');
  await page.waitForFunction(() => document.querySelector('#current')?.hasAttribute('data-seq'), undefined, { timeout: 30_000 });
  const caption = (await page.textContent('#current'))!;
  const word = caption.split(' ').find((w) => /^(circle|square|triangle|star|cross)/.test(w))!.replace(/e?s$/, '');
  await page.fill('#search-q', word);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#search-results li mark', { timeout: 10_000 });
  assert.match((await page.textContent('#search-status')) ?? '', /^\d+ results?$/);
  const marks = await page.$$eval('#search-results mark', (els) => els.map((e) => e.textContent ?? ''));
  assert.ok(marks.every((m) => m.toLowerCase().startsWith(word)), `${marks} all start with ${word}`);
  assert.equal(await page.getAttribute('#vtt', 'href'), '/api/streams/demo/captions.vtt');
  const vtt = await page.evaluate(async () => (await fetch((document.querySelector('#vtt') as HTMLAnchorElement).href)).text());
  assert.match(vtt, /^WEBVTT/);
  await page.fill('#search-q', 'zebra');
  await page.click('.search button');
  await page.waitForFunction(() => document.querySelector('#search-status')?.textContent === 'Nothing found', undefined, { timeout: 10_000 });
  assert.deepEqual(errors, []);
});
