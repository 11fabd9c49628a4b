/**
 * A real camera in front of the embedded captioner, end to end: real footage (a fixed camera
 * over people walking, from Debian's sample data) and the synthetic clip, played as live
 * streams through the real server. The real stream's captions are marked out of domain, its
 * status gets one note (and the log one warning) on how to bring a real model, its subtitles
 * say the scene is not recognised, and the viewer in Chromium shows that, naming the captioner,
 * with no accessibility violations; the synthetic stream is none of that.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/stream/server.js';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import { log } from '../../src/util/log.js';
import { recordBroadcasts } from '../helpers/test-server.js';
import { waitFor } from '../helpers/processes.js';
import { axeViolations } from '../helpers/axe.js';
import { realMedia, REAL_MEDIA_MISSING } from '../helpers/real-media.js';
import type { CaptionMessage, StatusMessage, StreamMessage } from '../../src/core/events.js';

const media = realMedia();
let dir: string;
let server: RunningServer;
let events: StreamMessage[];
const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
const originalWarn = log.warn;

before(async () => {
  if (!media) return;
  dir = await mkdtemp(join(tmpdir(), 'livecap-ood-stream-'));
  await copyFile(media.surveillance, join(dir, 'lawn.avi'));
  await writeVideo(videoScript(11, { duration: 20 }), join(dir, 'shapes.mp4'));
  log.warn = (message, fields) => {
    warnings.push({ message, fields });
    originalWarn(message, fields);
  };
  const captioner = await acquireCaptioner(EMBEDDED_CAPTIONER);
  // A keyframe a second at least (heartbeats), so that ten come quickly.
  server = await startServer({ host: '127.0.0.1', port: 0, mediaDir: dir, captioner, captionerName: 'embedded', pipeline: { output: { width: 160, height: 120, fps: 10 }, gate: { maxGapSec: 1 } } });
  events = recordBroadcasts(server);
  server.manager!.add('lawn', 'lawn.avi');
  server.manager!.add('shapes', 'shapes.mp4');
});

after(async () => {
  log.warn = originalWarn;
  if (!media) return;
  await server.close();
  await releaseCaptioner(EMBEDDED_CAPTIONER);
  await rm(dir, { recursive: true, force: true });
});

const captions = (stream: string) => events.filter((e): e is CaptionMessage => e.type === 'caption' && e.stream === stream);
const statuses = (stream: string) => events.filter((e): e is StatusMessage => e.type === 'status' && e.stream === stream);

test('real footage: captions marked out of domain, one status note and one warning on how to bring a real model', { skip: !media && REAL_MEDIA_MISSING, timeout: 120_000 }, async () => {
  const noted = await waitFor('a note on the lawn stream', () => server.streams.get('lawn')?.note, 90_000);
  assert.match(
    noted,
    /^the captioner 'embedded' does not recognise this stream's scenes \(\d+ of its last \d+ keyframes are beyond what it was trained on\), so its captions here mean nothing\. For real captions, run a pretrained export \(livecap models pull OWNER\/NAME, then --captioner STREAM=onnx:DIR\) or a vision-language model server \(--captioner STREAM=openai:MODEL@URL\)/,
  );
  const lawn = captions('lawn');
  assert.ok(lawn.length >= 1);
  assert.ok(lawn.every((c) => typeof c.outOfDomain === 'boolean'));
  assert.ok(lawn.filter((c) => c.outOfDomain).length / lawn.length > 0.5, JSON.stringify(lawn.map((c) => c.outOfDomain)));
  // The note goes out with a live status, and the stream's info says it too.
  assert.ok(statuses('lawn').some((s) => s.state === 'live' && s.note === noted));
  const info = (await (await fetch(`${server.url}/api/streams/lawn`)).json()) as { note?: string; captioner: string };
  assert.equal(info.note, noted);
  // Ten more keyframes later, still one warning for this stream.
  const keyframes = server.streams.get('lawn')!.counters.keyframes;
  await waitFor('ten more keyframes', () => server.streams.get('lawn')!.counters.keyframes >= keyframes + 10, 60_000);
  assert.equal(warnings.filter((w) => w.fields?.stream === 'lawn' && /does not recognise/.test(w.message)).length, 1);
  const vtt = await (await fetch(`${server.url}/api/streams/lawn/captions.vtt`)).text();
  assert.match(vtt, /\[scene not recognised by the captioner\]/);
});

test('the synthetic clip: captions in domain, no note', { skip: !media && REAL_MEDIA_MISSING, timeout: 120_000 }, async () => {
  await waitFor('ten keyframes of the synthetic stream', () => server.streams.get('shapes')!.counters.keyframes >= 10, 90_000);
  const shapes = captions('shapes');
  assert.ok(shapes.length >= 3);
  assert.ok(shapes.filter((c) => c.outOfDomain === false).length / shapes.length >= 0.9, JSON.stringify(shapes.map((c) => [c.text, c.outOfDomain])));
  assert.equal(server.streams.get('shapes')!.note, undefined);
  assert.ok(statuses('shapes').every((s) => s.note === undefined));
  assert.equal(warnings.filter((w) => w.fields?.stream === 'shapes').length, 0);
});

test('the viewer says the scene is not recognised, names the captioner, shows the note, and stays accessible', { skip: !media && REAL_MEDIA_MISSING, timeout: 120_000 }, async () => {
  await waitFor('a note on the lawn stream', () => server.streams.get('lawn')?.note, 90_000);
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    await page.goto(`${server.url}/?stream=lawn`);
    await page.waitForSelector('#current.unrecognised', { timeout: 30_000 });
    const current = (await page.textContent('#current'))!;
    assert.equal(current, 'Scene not recognised: the captioner “embedded” was not trained on pictures like this, so it has no caption for it.');
    const shown = captions('lawn')
      .filter((c) => c.outOfDomain)
      .map((c) => c.text);
    assert.ok(!shown.some((t) => current.includes(t)), 'the confident sentence is not shown');
    assert.equal(await page.getAttribute('#current', 'aria-live'), 'polite');
    await page.waitForSelector('#note:not([hidden])', { timeout: 10_000 });
    assert.match((await page.textContent('#note'))!, /^Note: the captioner 'embedded' does not recognise this stream's scenes.*livecap models pull/);
    assert.equal(await page.textContent('#captioner'), 'captioned by embedded');
    assert.deepEqual(await axeViolations(page), []);
    // The synthetic stream shows its sentences, with no note.
    await page.selectOption('#stream', 'shapes');
    await page.waitForFunction(() => document.querySelector('#current')?.hasAttribute('data-seq') && !document.querySelector('#current')?.classList.contains('unrecognised'), undefined, {
      timeout: 30_000,
    });
    assert.match((await page.textContent('#current'))!, /\b(circles?|squares?|triangles?|stars?|cross(es)?)\b/);
    assert.equal(await page.isHidden('#note'), true);
  } finally {
    await browser?.close();
  }
});
