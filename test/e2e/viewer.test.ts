/**
 * The browser viewer end to end: the real server with the embedded captioner and summarizer on
 * a looped synthetic clip, opened in headless Chromium. Accessibility is checked with axe-core
 * in the page (every rule, every impact level) and with the behaviours a screen reader user
 * relies on: live regions that exist before they change, a way to pause them, a skip link,
 * reflow at 320 px.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { axeViolations } from '../helpers/axe.js';
import { startServer, type RunningServer } from '../../src/stream/server.js';
import { tcpProxy } from '../helpers/tcp-proxy.js';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { SummarizerClient } from '../../src/models/worker/summarizer-client.js';
import { EMBEDDED_CAPTIONER, EMBEDDED_SUMMARIZER, PROJECT_ROOT } from '../../src/paths.js';

const SHAPE = /\b(circle|square|triangle|star|cross|circles|squares|triangles|stars|crosses|shapes)\b/;
const OUTPUT = join(PROJECT_ROOT, 'test-output');

let media: string;
let server: RunningServer;
let summarizer: SummarizerClient;
let browser: Browser;
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

before(async () => {
  media = await mkdtemp(join(tmpdir(), 'livecap-viewer-'));
  const clip = join(media, 'demo.mp4');
  await writeVideo(videoScript(7, { duration: 20 }), clip);
  const captioner = await acquireCaptioner(EMBEDDED_CAPTIONER);
  summarizer = await SummarizerClient.start(EMBEDDED_SUMMARIZER);
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    mediaDir: media,
    captioner,
    captionerName: 'embedded',
    pipeline: { output: { width: 160, height: 120, fps: 10 }, summary: { summarizer, windowMs: 4000, hopMs: 1000 } },
    rules: [{ id: 'shape', name: 'Shape seen', match: ['circle', 'square', 'triangle', 'star', 'cross'], cooldown: 2 }],
  });
  server.addSource('demo', { kind: 'file', input: clip, loop: true }, 'demo');
  await mkdir(OUTPUT, { recursive: true });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await server.close();
  await releaseCaptioner(EMBEDDED_CAPTIONER);
  await summarizer.close();
  await rm(media, { recursive: true, force: true });
});

/** A page that records script errors and every answer of 400 or more it gets while loading. */
async function openViewer(path: string, viewport = { width: 1000, height: 700 }) {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  const failed: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('response', (res) => {
    if (res.status() >= 400) failed.push(`${res.status()} ${res.url()}`);
  });
  await page.goto(server.url + path);
  return { page, errors, failed };
}

async function firstCaption(page: Page) {
  await page.waitForFunction(() => document.querySelector('#current')?.hasAttribute('data-seq'), undefined, { timeout: 30_000 });
}

/**
 * The current caption's text once it is a caption of a recognised scene: a keyframe the
 * captioner does not recognise (a fade through black, say) shows a notice instead.
 */
async function recognisedCaption(page: Page, naming: RegExp = /./): Promise<string> {
  await page.waitForFunction(
    (pattern) => {
      const current = document.querySelector('#current');
      return current?.hasAttribute('data-seq') && !current.classList.contains('unrecognised') && new RegExp(pattern).test(current.textContent ?? '');
    },
    naming.source,
    { timeout: 60_000 },
  );
  return (await page.textContent('#current'))!;
}

/** Searches for a word of the caption on screen, so that results show. */
async function searchForCurrentCaption(page: Page) {
  const caption = await recognisedCaption(page);
  await page.fill('#search-q', caption.split(' ').sort((a, b) => b.length - a.length)[0]!);
  await page.click('.search button');
  await page.waitForSelector('#search-results li mark', { timeout: 10_000 });
}

test('the viewer loads, connects, and shows live captions from the demo stream in a live region', async () => {
  const { page, errors } = await openViewer('/');
  await page.waitForSelector('#status[data-state="live"]', { timeout: 30_000 });
  await firstCaption(page);
  assert.match(await recognisedCaption(page), SHAPE);
  assert.equal(await page.getAttribute('#current', 'aria-live'), 'polite');
  assert.equal(await page.inputValue('#stream'), 'demo');
  assert.match((await page.getAttribute('#keyframe', 'src')) ?? '', /^\/api\/streams\/demo\/keyframes\/\d+\.jpg$/);
  // The browser fetched and decoded it.
  await page.waitForFunction(() => (document.querySelector('#keyframe') as HTMLImageElement).naturalWidth === 160, undefined, { timeout: 10_000 });
  // A second caption pushes the first into the history.
  await page.waitForSelector('#history li', { timeout: 40_000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test('the page has no accessibility violations (axe-core) while captions, history, a summary, alerts and search results show', async () => {
  const { page, errors } = await openViewer('/?stream=demo');
  assert.deepEqual(await axeViolations(page), [], 'as the page loads');
  await firstCaption(page);
  await page.waitForSelector('#history li', { timeout: 40_000 });
  await page.waitForFunction(() => document.querySelector('#summary')?.hasAttribute('data-seq'), undefined, { timeout: 30_000 });
  await page.waitForSelector('#alert-now[data-state="active"]', { timeout: 30_000 });
  await searchForCurrentCaption(page);
  assert.deepEqual(await axeViolations(page), [], 'with captions, history, a summary, alerts and search results');
  await page.click('#pause-announcements');
  assert.deepEqual(await axeViolations(page), [], 'with announcements paused');
  await page.screenshot({ path: join(OUTPUT, 'viewer.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('the video caption is read from a live region that is on the page, visible, before the first summary arrives', async () => {
  const page = await browser.newPage();
  // Recorded as soon as the document is parsed, before the page has talked to the server.
  await page.addInitScript(() => {
    document.addEventListener('DOMContentLoaded', () => {
      const el = document.querySelector('#summary') as HTMLElement | null;
      (window as any).summaryAtLoad = el && { visible: el.checkVisibility(), live: el.getAttribute('aria-live'), atomic: el.getAttribute('aria-atomic'), text: el.textContent };
    });
  });
  await page.goto(server.url + '/?stream=demo');
  const atLoad = await page.evaluate(() => (window as any).summaryAtLoad);
  assert.ok(atLoad, 'the summary live region is in the page as it loads');
  assert.deepEqual({ visible: atLoad.visible, live: atLoad.live, atomic: atLoad.atomic }, { visible: true, live: 'polite', atomic: 'true' });
  await page.waitForFunction(() => document.querySelector('#summary')?.hasAttribute('data-seq'), undefined, { timeout: 30_000 });
  const summary = await page.textContent('#summary');
  assert.notEqual(summary, atLoad.text, 'the summary replaced the placeholder');
  assert.match(summary ?? '', /\w/);
  assert.equal(await page.evaluate(() => (document.querySelector('#summary') as HTMLElement).checkVisibility()), true);
  await page.close();
});

test('a pressed "Pause announcements" button silences the live captions, and stays pressed after a reload', async () => {
  const { page } = await openViewer('/?stream=demo');
  await firstCaption(page);
  const liveness = () => page.$$eval('#current, #summary', (els) => els.map((e) => e.getAttribute('aria-live')));
  assert.equal(await page.getAttribute('#pause-announcements', 'aria-pressed'), 'false');
  assert.deepEqual(await liveness(), ['polite', 'polite']);
  // Operable from the keyboard like any button.
  await page.focus('#pause-announcements');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('#pause-announcements', 'aria-pressed'), 'true');
  assert.deepEqual(await liveness(), ['off', 'off']);
  // Stream state changes are still announced: they are rare and matter.
  assert.equal(await page.getAttribute('#status', 'role'), 'status');
  await page.reload();
  await firstCaption(page);
  assert.equal(await page.getAttribute('#pause-announcements', 'aria-pressed'), 'true');
  assert.deepEqual(await liveness(), ['off', 'off']);
  await page.click('#pause-announcements');
  assert.equal(await page.getAttribute('#pause-announcements', 'aria-pressed'), 'false');
  assert.deepEqual(await liveness(), ['polite', 'polite']);
  await page.reload();
  assert.equal(await page.getAttribute('#pause-announcements', 'aria-pressed'), 'false');
  assert.deepEqual(await liveness(), ['polite', 'polite']);
  await page.close();
});

test('an alert is shown apart from the captions and read out at once; recent alerts are listed, newest first', async () => {
  const { page, errors } = await openViewer('/?stream=demo');
  // The banner is an assertive live region on the page before any alert, so the first is read.
  assert.equal(await page.getAttribute('#alert-now', 'role'), 'alert');
  assert.equal(await page.evaluate(() => (document.querySelector('#alert-now') as HTMLElement).checkVisibility()), true);
  await page.waitForSelector('#alert-now[data-state="active"]', { timeout: 30_000 });
  const banner = (await page.textContent('#alert-now')) ?? '';
  assert.match(banner, /^Alert: Shape seen: .*(circle|square|triangle|star|cross)/);
  // What the banner says is an alert the server raised, on a caption it sent.
  const seq = Number(await page.getAttribute('#alert-now', 'data-seq'));
  const history = (await (await fetch(`${server.url}/api/streams/demo/captions?since=${seq - 1}&limit=1`)).json()) as { captions: { type: string; rule: string; text: string }[] };
  assert.deepEqual([history.captions[0]?.type, history.captions[0]?.rule], ['alert', 'shape']);
  assert.ok(banner.includes(history.captions[0]!.text));
  await page.waitForFunction(() => document.querySelectorAll('#alerts li').length >= 2, undefined, { timeout: 30_000 });
  const listed = await page.$$eval('#alerts li', (items) => items.map((li) => li.querySelector('time')?.getAttribute('datetime') ?? ''));
  assert.deepEqual(listed, [...listed].sort().reverse(), 'newest first');
  // Pausing the caption announcements leaves alerts announced.
  await page.click('#pause-announcements');
  assert.equal(await page.getAttribute('#alert-now', 'role'), 'alert');
  assert.notEqual(await page.getAttribute('#alert-now', 'aria-live'), 'off');
  await page.click('#pause-announcements');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the keyframe is described as a keyframe of the stream, not by a second copy of the caption', async () => {
  const { page } = await openViewer('/?stream=demo');
  await firstCaption(page);
  await page.waitForSelector('#keyframe:not([hidden])', { timeout: 30_000 });
  const { alt, caption } = await page.evaluate(() => ({ alt: (document.querySelector('#keyframe') as HTMLImageElement).alt, caption: document.querySelector('#current')!.textContent! }));
  assert.match(alt, /^Keyframe at \d{1,2}:\d{2}:\d{2}( [AP]M)? from stream demo$/);
  assert.ok(!alt.includes(caption), `alt "${alt}" does not repeat the caption "${caption}"`);
  await page.close();
});

test('the first Tab reaches a skip link that takes keyboard focus to the current caption', async () => {
  const { page } = await openViewer('/?stream=demo');
  await firstCaption(page);
  await page.keyboard.press('Tab');
  const skip = await page.evaluate(() => {
    const el = document.activeElement as HTMLAnchorElement;
    const box = el.getBoundingClientRect();
    return { tag: el.tagName, text: el.textContent, href: el.getAttribute('href'), width: box.width, height: box.height, top: box.top };
  });
  assert.deepEqual({ tag: skip.tag, href: skip.href }, { tag: 'A', href: '#current' });
  assert.match(skip.text ?? '', /skip to the current caption/i);
  // Shown once focused (sighted keyboard users see where focus is).
  assert.ok(skip.width > 20 && skip.height > 10 && skip.top >= 0, `the focused skip link is on screen: ${JSON.stringify(skip)}`);
  await page.screenshot({ path: join(OUTPUT, 'viewer-skip-link.png') });
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'current');
  // Then the stream picker is next in the tab order after the skip link.
  await page.goto(server.url + '/?stream=demo');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'stream');
  await page.close();
});

test('display settings (caption size, contrast, position, dark theme) are kept in the browser and stay accessible', async () => {
  const { page, errors } = await openViewer('/?stream=demo');
  await firstCaption(page);
  const fontSize = () => page.evaluate(() => Number.parseFloat(getComputedStyle(document.querySelector('#current')!).fontSize));
  const normal = await fontSize();
  await page.click('.display-settings summary');
  await page.selectOption('#display-size', 'x-large');
  await page.selectOption('#display-contrast', 'high');
  await page.selectOption('#display-position', 'above');
  await page.selectOption('#display-theme', 'dark');
  assert.ok((await fontSize()) > normal * 1.5, 'extra large captions');
  await page.reload();
  await firstCaption(page);
  assert.deepEqual(await page.evaluate(() => ({ ...document.documentElement.dataset })), { captionSize: 'x-large', contrast: 'high', captionPosition: 'above', theme: 'dark' }, 'kept across a reload');
  const look = await page.evaluate(() => {
    const current = getComputedStyle(document.querySelector('#current')!);
    return { body: getComputedStyle(document.body).backgroundColor, color: current.color, background: current.backgroundColor };
  });
  assert.equal(look.body, 'rgb(18, 18, 18)', 'dark page');
  assert.deepEqual([look.color, look.background], ['rgb(255, 255, 255)', 'rgb(0, 0, 0)'], 'white on black captions');
  const order = await page.evaluate(() => {
    const caption = document.querySelector('#current')!.getBoundingClientRect();
    const picture = document.querySelector('#keyframe')!.getBoundingClientRect();
    return caption.left < picture.left || caption.top < picture.top;
  });
  assert.ok(order, 'the caption comes before the picture');
  await page.click('.display-settings summary');
  assert.deepEqual(await axeViolations(page), [], 'dark, high contrast, extra large');
  await page.screenshot({ path: join(OUTPUT, 'viewer-dark.png'), fullPage: true });
  await page.evaluate(() => localStorage.clear());
  assert.deepEqual(errors, []);
  await page.close();
});

test('"Read aloud" speaks new captions and alerts with the browser\'s speech, and stays on after a reload', async () => {
  const page = await browser.newPage();
  // What the page asks the browser to say (headless Chromium has no voice to say it with).
  await page.addInitScript(() => {
    (window as any).spoken = [];
    speechSynthesis.speak = (u: SpeechSynthesisUtterance) => (window as any).spoken.push(u.text);
  });
  await page.goto(`${server.url}/?stream=demo`);
  await firstCaption(page);
  assert.equal(await page.getAttribute('#read-aloud', 'aria-pressed'), 'false');
  assert.deepEqual(await page.evaluate(() => (window as any).spoken), [], 'silent until asked');
  await page.click('#read-aloud');
  assert.equal(await page.getAttribute('#read-aloud', 'aria-pressed'), 'true');
  await page.waitForFunction(() => (window as any).spoken.length >= 2, undefined, { timeout: 40_000 });
  const spoken = (await page.evaluate(() => (window as any).spoken)) as string[];
  const said = spoken.filter((t) => !t.startsWith('Alert:'));
  assert.ok(said.length > 0 && said.every((t) => SHAPE.test(t) || /not recognised/.test(t)), JSON.stringify(spoken));
  await page.reload();
  assert.equal(await page.getAttribute('#read-aloud', 'aria-pressed'), 'true', 'kept');
  await page.evaluate(() => localStorage.clear());
  await page.close();
});

test('the wall shows every stream with its latest picture and caption, alerts marked, accessible at 320 px too', async () => {
  for (const viewport of [
    { width: 1000, height: 700 },
    { width: 320, height: 640 },
  ]) {
    const { page, errors, failed } = await openViewer('/viewer/wall.html', viewport);
    await page.waitForSelector('.tile h2 a', { timeout: 10_000 });
    assert.equal(await page.textContent('.tile h2 a'), 'demo');
    assert.equal(await page.getAttribute('.tile h2 a', 'href'), '/?stream=demo');
    await page.waitForFunction(() => (document.querySelector('.tile img') as HTMLImageElement).naturalWidth === 160, undefined, { timeout: 15_000 });
    await page.waitForFunction((pattern) => new RegExp(pattern).test(document.querySelector('.tile-caption')?.textContent ?? ''), SHAPE.source, { timeout: 40_000 });
    await page.waitForSelector('#alert-now[data-state="active"]', { timeout: 40_000 });
    assert.match((await page.textContent('#alert-now')) ?? '', /^Alert on demo: Shape seen: /);
    assert.equal(await page.getAttribute('.tile', 'data-alert'), 'on');
    const width = await page.evaluate(() => document.scrollingElement!.scrollWidth);
    assert.ok(width <= viewport.width, `${width} px wide at ${viewport.width}`);
    assert.deepEqual(await axeViolations(page), [], `the wall at ${viewport.width} px`);
    if (viewport.width === 1000) await page.screenshot({ path: join(OUTPUT, 'wall.png'), fullPage: true });
    assert.deepEqual(errors, []);
    // Snapshots asked for before the first frame may 404; nothing else fails.
    assert.deepEqual(
      failed.filter((f) => !/snapshot\.jpg/.test(f)),
      [],
    );
    await page.close();
  }
});

test('the page reflows at 320 CSS pixels: no sideways scrolling, the search button fully on screen', async () => {
  const { page, errors } = await openViewer('/?stream=demo', { width: 320, height: 640 });
  await firstCaption(page);
  await page.waitForSelector('#history li', { timeout: 40_000 });
  await searchForCurrentCaption(page);
  const layout = await page.evaluate(() => {
    const button = document.querySelector('.search button')!.getBoundingClientRect();
    return { scrollWidth: document.scrollingElement!.scrollWidth, left: button.left, right: button.right };
  });
  assert.ok(layout.scrollWidth <= 320, `page is ${layout.scrollWidth} px wide`);
  assert.ok(layout.left >= 0 && layout.right <= 320, `search button spans ${layout.left}–${layout.right} px`);
  assert.deepEqual(await axeViolations(page), [], 'at 320 px');
  await page.screenshot({ path: join(OUTPUT, 'viewer-320.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('the page loads without a single 404 and has an icon; /favicon.ico answers too', async () => {
  const { page, failed } = await openViewer('/?stream=demo');
  await firstCaption(page);
  const icon = await page.getAttribute('link[rel="icon"]', 'href');
  assert.ok(icon, 'the page links an icon');
  const res = await page.request.get(server.url + icon);
  assert.equal(res.status(), 200);
  assert.equal(res.headers()['content-type'], 'image/svg+xml');
  const ico = await fetch(server.url + '/favicon.ico');
  assert.equal(ico.status, 200);
  assert.equal(ico.headers.get('content-type'), 'image/svg+xml');
  assert.deepEqual(failed, []);
  await page.close();
});

test('the page says which captioner captions the stream, next to its name, and announces its state politely', async () => {
  const { page } = await openViewer('/?stream=demo');
  await page.waitForFunction(() => /embedded/.test(document.querySelector('#captioner')?.textContent ?? ''), undefined, { timeout: 10_000 });
  assert.equal(await page.textContent('#captioner'), 'captioned by embedded');
  await page.waitForSelector('#status[data-state="live"]', { timeout: 30_000 });
  assert.equal(await page.getAttribute('#status', 'role'), 'status');
  assert.equal(await page.evaluate(() => (document.querySelector('#status') as HTMLElement).checkVisibility()), true);
  await page.close();
});

test('the page runs under a strict Content-Security-Policy: no inline script, style or handler is refused', async () => {
  // A page answer fulfilled by the test has no server address, so Chromium's local network
  // checks would take it for a public site and refuse its WebSocket to 127.0.0.1.
  const strict = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: [...CHROMIUM_ARGS, '--disable-features=LocalNetworkAccessChecks'] });
  try {
    await strictPolicyCheck(await strict.newPage());
  } finally {
    await strict.close();
  }
});

async function strictPolicyCheck(page: Page) {
  // The policy a deployment may send; added here to the page's own answer. Live video plays
  // through Media Source Extensions, whose media URLs are blob: URLs.
  const policy = "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self' ws: wss:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";
  await page.route(server.url + '/?stream=demo', async (route) => {
    const res = await route.fetch();
    await route.fulfill({ response: res, headers: { ...res.headers(), 'content-security-policy': policy } });
  });
  await page.addInitScript(() => {
    (window as any).refused = [];
    document.addEventListener('securitypolicyviolation', (e) => (window as any).refused.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(server.url + '/?stream=demo');
  await firstCaption(page);
  await page.waitForSelector('#keyframe:not([hidden])', { timeout: 30_000 });
  await page.waitForFunction(() => document.querySelector('#summary')?.hasAttribute('data-seq'), undefined, { timeout: 30_000 });
  await page.click('#pause-announcements');
  await page.keyboard.press('Tab');
  assert.deepEqual(await page.evaluate(() => (window as any).refused), []);
  assert.deepEqual(await axeViolations(page), [], 'under the policy');
}

test('the viewer shows the stream going away and reconnects by itself after a server hiccup', async () => {
  // Between the browser and the server, a network that fails once.
  const network = await tcpProxy(new URL(server.url));
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  try {
    await page.goto(network.url + '/?stream=demo');
    await page.waitForSelector('#status[data-state="live"]', { timeout: 30_000 });
    // Every connection dropped at once, as a restart or a lost link would; the page must come back on its own.
    network.cut();
    await page.waitForSelector('#status[data-state="offline"]', { timeout: 5000 });
    await page.waitForSelector('#status[data-state="live"]', { timeout: 15_000 });
  } finally {
    await page.close();
    await network.close();
  }
});

test('the viewer searches every caption and links the subtitles of the stream', async () => {
  const { page, errors } = await openViewer('/?stream=demo');
  // A caption that names a shape ("there are three shapes on sandy ground" names none).
  const caption = await recognisedCaption(page, /\b(circle|square|triangle|star|cross)/);
  const word = caption
    .split(' ')
    .find((w) => /^(circle|square|triangle|star|cross)/.test(w))
    ?.replace(/e?s$/, '');
  assert.ok(word, `a shape word in "${caption}"`);
  await page.fill('#search-q', word);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#search-results li mark', { timeout: 10_000 });
  assert.match((await page.textContent('#search-status')) ?? '', /^\d+ results?$/);
  const marks = await page.$$eval('#search-results mark', (els) => els.map((e) => e.textContent ?? ''));
  assert.ok(
    marks.every((m) => m.toLowerCase().startsWith(word)),
    `${marks} all start with ${word}`,
  );
  assert.equal(await page.getAttribute('#vtt', 'href'), '/api/streams/demo/captions.vtt');
  const vtt = await page.evaluate(async () => (await fetch((document.querySelector('#vtt') as HTMLAnchorElement).href)).text());
  assert.match(vtt, /^WEBVTT/);
  await page.fill('#search-q', 'zebra');
  await page.click('.search button');
  await page.waitForFunction(() => document.querySelector('#search-status')?.textContent === 'Nothing found', undefined, { timeout: 10_000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test('on a server without a summarizer the page says video captions are off instead of waiting for one', async () => {
  const bare = await startServer({
    host: '127.0.0.1',
    port: 0,
    captioner: await acquireCaptioner(EMBEDDED_CAPTIONER),
    captionerName: 'embedded',
    pipeline: { output: { width: 160, height: 120, fps: 5 } },
  });
  try {
    bare.addSource('bars', { kind: 'testsrc', input: 'smptebars', pattern: 'smptebars' }, 'bars');
    const info = (await (await fetch(`${bare.url}/api/streams/bars`)).json()) as { summaries: boolean };
    assert.equal(info.summaries, false);
    assert.equal(((await (await fetch(`${server.url}/api/streams/demo`)).json()) as { summaries: boolean }).summaries, true);
    const page = await browser.newPage();
    await page.goto(`${bare.url}/?stream=bars`);
    await page.waitForFunction(() => /off on this server/.test(document.querySelector('#summary')?.textContent ?? ''), undefined, { timeout: 20_000 });
    assert.equal(await page.getAttribute('#summary', 'aria-live'), 'polite');
    await page.close();
  } finally {
    await bare.close();
    await releaseCaptioner(EMBEDDED_CAPTIONER);
  }
});
