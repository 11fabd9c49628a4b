/**
 * Live video end to end: the real server with the embedded captioner on a synthetic H.264 clip
 * (copied) and on a test pattern (encoded). ffprobe reads the multivariant playlist (a video
 * stream and both subtitle streams); every caption in history appears as a cue whose time, mapped
 * through the WebVTT segment's X-TIMESTAMP-MAP and the video playlist's clock, is the caption's
 * frame time; headless Chromium plays the stream in the viewer and its text track receives cues
 * whose text is the captions'; behind tokens, every URI carries the token and ffprobe plays it;
 * and once nobody asks, no ffmpeg makes HLS, analysis carries on without a reconnect, and the
 * segments are gone.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/stream/server.js';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import { parseVideoPlaylist } from '../../src/stream/hls-playlists.js';
import { NOT_RECOGNISED_CUE } from '../../src/stream/subtitles.js';
import type { CaptionMessage, StatusMessage } from '../../src/core/events.js';
import { ffmpegPidsWith, waitFor } from '../helpers/processes.js';
import { axeViolations } from '../helpers/axe.js';

const run = promisify(execFile);
const TOKEN = 'viewer-secret-4711';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--autoplay-policy=no-user-gesture-required'];

let media: string;
let segmentsRoot: string;
let server: RunningServer;
let browser: Browser;
const statuses: StatusMessage[] = [];

before(async () => {
  media = await mkdtemp(join(tmpdir(), 'livecap-live-media-'));
  segmentsRoot = await mkdtemp(join(tmpdir(), 'livecap-live-segments-'));
  const clip = join(media, 'shapes.mp4');
  // A cut every two seconds or so: a caption for each.
  await writeVideo(videoScript(11, { duration: 20, minScene: 1.5, maxScene: 2.5, transitions: { cut: 1, fade: 0, dissolve: 0 } }), clip);
  const captioner = await acquireCaptioner(EMBEDDED_CAPTIONER);
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    mediaDir: media,
    captioner,
    captionerName: 'embedded',
    pipeline: { output: { width: 160, height: 120, fps: 10 } },
    auth: { viewerTokens: [TOKEN] },
    liveVideo: { idleSeconds: 3, startTimeoutMs: 4000, dir: segmentsRoot, maxStreams: 2 },
  });
  server.addSource('shapes', { kind: 'file', input: clip, loop: true }, 'shapes');
  server.addSource('pattern', { kind: 'testsrc', input: 'testsrc2', pattern: 'testsrc2' }, 'testsrc://testsrc2');
  server.addSource('third', { kind: 'testsrc', input: 'smptebars', pattern: 'smptebars' }, 'testsrc://smptebars');
  // A camera that is not there: never live.
  server.addSource('absent', { kind: 'rtsp', input: 'rtsp://127.0.0.1:9/absent', transport: 'tcp' }, 'rtsp://127.0.0.1:9/absent');
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  await waitFor('the streams live', () => ['shapes', 'pattern', 'third'].every((id) => server.streams.get(id)?.state === 'live'));
});

after(async () => {
  await browser?.close();
  await server?.close();
  await releaseCaptioner(EMBEDDED_CAPTIONER);
  await rm(media, { recursive: true, force: true });
  await rm(segmentsRoot, { recursive: true, force: true });
});

const live = (stream: string, file: string, token: string | null = TOKEN) => `${server.url}/api/streams/${stream}/live/${file}${token ? `?token=${token}` : ''}`;
const get = async (url: string) => {
  const res = await fetch(url);
  assert.equal(res.status, 200, `${url}: ${res.status} ${await res.clone().text()}`);
  return res;
};
const hlsRunning = () => ffmpegPidsWith('video.m3u8').length;

/** The stream's captions in history, oldest first. */
async function captionsOf(stream: string): Promise<CaptionMessage[]> {
  const res = await get(`${server.url}/api/streams/${stream}/captions?limit=1000&token=${TOKEN}`);
  return ((await res.json()) as { captions: CaptionMessage[] }).captions.filter((c) => c.type === 'caption');
}

/** A WebVTT segment's timestamp map and cues (times in ms on its LOCAL timeline). */
function readVtt(text: string) {
  const ms = (t: string) => {
    const [h, m, s] = t.split(':');
    return (Number(h) * 3600 + Number(m) * 60 + Number(s)) * 1000;
  };
  const map = /X-TIMESTAMP-MAP=MPEGTS:(\d+),LOCAL:([\d:.]+)/.exec(text);
  assert.ok(map, `no X-TIMESTAMP-MAP in\n${text}`);
  const cues = [...text.matchAll(/^([\d:.]+) --> ([\d:.]+)\n(.+)$/gm)].map((m) => ({ start: ms(m[1]!), end: ms(m[2]!), text: m[3]! }));
  return { mpegts: Number(map[1]), local: ms(map[2]!), cues };
}

test('ffprobe reads the multivariant playlist: an H.264 video stream and the captions and descriptions subtitle streams', async () => {
  await get(live('shapes', 'index.m3u8'));
  // ffmpeg 5 reads live WebVTT only to the end of what is listed (-m3u8_hold_counters 0) and
  // subtitle renditions only when told to (-strict experimental): let three segments be listed.
  await waitFor('three subtitle segments', async () => parseVideoPlaylist(await (await get(live('shapes', 'captions.m3u8'))).text()).segments.length >= 3, 20_000);
  const probe = () =>
    run('ffprobe', ['-v', 'error', '-strict', 'experimental', '-m3u8_hold_counters', '0', '-show_entries', 'stream=codec_type,codec_name', '-of', 'json', live('shapes', 'index.m3u8')], {
      timeout: 30_000,
    });
  // ffprobe reads every playlist first, then probes the video before the captions: on a busy
  // machine the oldest subtitle segment it was shown can slide out of the live window (1 s
  // segments) before it asks for it. That is the playlist moving on, not a bad one: ask again.
  let stdout = '';
  for (let attempt = 1; ; attempt++) {
    try {
      stdout = (await probe()).stdout;
      break;
    } catch (err) {
      if (attempt >= 3 || !String(err).includes('Error when loading first segment')) throw err;
    }
  }
  const streams = (JSON.parse(stdout) as { streams: { codec_type: string; codec_name: string }[] }).streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort();
  assert.deepEqual(streams, ['subtitle:webvtt', 'subtitle:webvtt', 'video:h264']);
});

test('every caption is a cue at its frame time on the video timeline', async () => {
  // Each subtitle segment as it is listed, for twelve seconds (more than the six kept).
  const seen = new Map<number, { wallMs: number; seconds: number; vtt: ReturnType<typeof readVtt> }>();
  const until = Date.now() + 12_000;
  while (Date.now() < until) {
    const listed = parseVideoPlaylist(await (await get(live('shapes', 'captions.m3u8'))).text());
    for (const s of listed.segments.filter((s) => !seen.has(s.sequence)))
      seen.set(s.sequence, { wallMs: s.wallMs, seconds: s.seconds, vtt: readVtt(await (await get(live('shapes', `captions/${s.sequence}.vtt`))).text()) });
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const captions = await captionsOf('shapes');
  let checked = 0;
  for (const [sequence, { wallMs: start, seconds, vtt }] of seen) {
    const end = start + seconds * 1000;
    // A cue's wall time: the segment's clock plus its distance from the segment's LOCAL time.
    const wallOf = (local: number) => start + (local - vtt.local);
    for (const caption of captions.filter((c) => c.frameTs >= start && c.frameTs < end)) {
      const text = caption.outOfDomain ? NOT_RECOGNISED_CUE : caption.text;
      const cue = vtt.cues.find((c) => Math.abs(wallOf(c.start) - caption.frameTs) <= 1);
      assert.ok(cue, `caption ${caption.seq} at ${caption.frameTs} ("${text}") has no cue in segment ${sequence}: ${JSON.stringify(vtt.cues.map((c) => [wallOf(c.start), c.text]))}`);
      assert.equal(cue.text, text);
      checked++;
    }
    for (const cue of vtt.cues) {
      assert.ok(wallOf(cue.start) >= start - 1 && wallOf(cue.end) <= end + 1, `a cue outside its segment ${sequence}`);
      assert.ok(
        captions.some((c) => (c.outOfDomain ? NOT_RECOGNISED_CUE : c.text) === cue.text),
        `cue "${cue.text}" is no caption`,
      );
    }
  }
  assert.ok(seen.size >= 8, `${seen.size} subtitle segments in 12 s`);
  assert.ok(checked >= 3, `only ${checked} captions fell in the listed segments`);
});

test('Chromium plays the stream in the viewer, its captions track receiving the captions', async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  try {
    await page.goto(`${server.url}/?stream=shapes&token=${TOKEN}`);
    await page.waitForFunction(() => (document.getElementById('live-video') as HTMLVideoElement).currentTime > 2, undefined, { timeout: 30_000 });
    const track = await page.waitForFunction(
      () => {
        const video = document.getElementById('live-video') as HTMLVideoElement;
        const captions = [...video.textTracks].find((t) => t.label === 'Captions');
        const cues = captions?.cues ? [...captions.cues].map((c) => (c as VTTCue).text) : [];
        return cues.length >= 3 && { mode: captions!.mode, cues, tracks: [...video.textTracks].map((t) => t.label) };
      },
      undefined,
      { timeout: 30_000, polling: 250 },
    );
    const seen = (await track.jsonValue()) as { mode: string; cues: string[]; tracks: string[] };
    assert.equal(seen.mode, 'showing', 'the browser draws the captions');
    assert.deepEqual(seen.tracks.sort(), ['Captions', 'Descriptions']);
    const texts = new Set((await captionsOf('shapes')).map((c) => (c.outOfDomain ? NOT_RECOGNISED_CUE : c.text)));
    for (const cue of seen.cues) assert.ok(texts.has(cue), `cue "${cue}" is no caption of the stream`);
    assert.ok(
      seen.cues.some((c) => c !== NOT_RECOGNISED_CUE),
      'a recognised caption among the cues',
    );
    assert.equal(await page.locator('#live-video').isVisible(), true);
    // "Captions above the picture" moves the video's captions to its top line, and back.
    const lines = () =>
      page.evaluate(() => {
        const captions = [...(document.getElementById('live-video') as HTMLVideoElement).textTracks].find((t) => t.label === 'Captions')!;
        return [...captions.cues!].map((c) => String((c as VTTCue).line));
      });
    await page.click('.display-settings summary');
    await page.selectOption('#display-position', 'above');
    const above = await lines();
    assert.ok(above.length > 0 && above.every((l) => l === '0'), `cue lines ${above}`);
    await page.selectOption('#display-position', 'below');
    assert.ok((await lines()).every((l) => l === 'auto'));
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('the viewer\'s "Live video" button turns the video off and on, kept after a reload', async () => {
  const page = await browser.newPage({ viewport: { width: 320, height: 700 } });
  try {
    await page.goto(`${server.url}/?stream=shapes&token=${TOKEN}`);
    await page.waitForFunction(() => (document.getElementById('live-video') as HTMLVideoElement).currentTime > 0.5, undefined, { timeout: 30_000 });
    // Nothing wider than a 320 px screen.
    assert.ok((await page.evaluate(() => document.getElementById('live-video')!.getBoundingClientRect().right)) <= 320);
    await page.focus('#live-video-toggle');
    await page.keyboard.press('Enter');
    assert.equal(await page.getAttribute('#live-video-toggle', 'aria-pressed'), 'false');
    assert.equal(await page.isVisible('#live-video'), false);
    await page.reload();
    await page.waitForFunction(() => document.querySelector('#current')?.hasAttribute('data-seq'), undefined, { timeout: 30_000 });
    assert.equal(await page.getAttribute('#live-video-toggle', 'aria-pressed'), 'false');
    assert.equal(await page.isVisible('#live-video'), false);
    await page.click('#live-video-toggle');
    await page.waitForFunction(() => (document.getElementById('live-video') as HTMLVideoElement).currentTime > 0.5, undefined, { timeout: 30_000 });
  } finally {
    await page.close();
  }
});

test("the wall plays every stream it may as live video with captions; past the server's limit a tile keeps its picture and says why", async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  try {
    await page.goto(`${server.url}/viewer/wall.html?token=${TOKEN}`);
    await page.waitForSelector('.tile');
    assert.equal(await page.getAttribute('#live-video-toggle', 'aria-pressed'), 'false', 'off until asked for');
    await page.click('#live-video-toggle');
    // Two streams at once is this server's limit (liveVideo.maxStreams); 'absent' has no video.
    const state = () =>
      page.evaluate(() =>
        [...document.querySelectorAll('.tile')].map((t) => ({
          name: t.querySelector('h2 a')!.textContent,
          playing: !(t.querySelector('video') as HTMLVideoElement).hidden && (t.querySelector('video') as HTMLVideoElement).currentTime > 0.5,
          note: t.querySelector('.live-video-state')!.textContent ?? '',
          picture: !(t.querySelector('img') as HTMLImageElement).hidden,
        })),
      );
    const seenAll = await waitFor(
      'two tiles playing, two saying why not',
      async () => {
        const all = await state();
        return all.filter((t) => t.playing).length === 2 && all.filter((t) => t.note).length === 2 && all;
      },
      45_000,
    ).catch(async (err: Error) => assert.fail(`${err.message}: ${JSON.stringify(await state())}`));
    const seen = seenAll;
    for (const t of seen.filter((t) => !t.playing)) {
      assert.match(t.note, /Live video unavailable \(the server answered 503\)/);
      assert.equal(t.picture, true, `${t.name} keeps its picture`);
    }
    assert.ok(seen.some((t) => t.name === 'absent' && !t.playing));
    await page.waitForFunction(
      () => [...document.querySelectorAll('.tile video')].some((v) => [...(v as HTMLVideoElement).textTracks].some((t) => t.mode === 'showing' && (t.cues?.length ?? 0) > 0)),
      undefined,
      { timeout: 30_000 },
    );
    assert.deepEqual(await axeViolations(page), [], 'the wall with live video');
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('behind tokens: refused without one, and every playlist URI carries it', async () => {
  assert.equal((await fetch(live('shapes', 'index.m3u8', null))).status, 401);
  assert.equal((await fetch(live('shapes', 'index.m3u8', 'wrong'))).status, 401);
  assert.equal((await fetch(live('shapes', 'captions/1.vtt', null))).status, 401);
  const uris: string[] = [];
  for (const file of ['index.m3u8', 'video.m3u8', 'captions.m3u8', 'descriptions.m3u8']) {
    const text = await (await get(live('shapes', file))).text();
    uris.push(...text.split('\n').filter((l) => l && !l.startsWith('#')), ...[...text.matchAll(/URI="([^"]+)"/g)].map((m) => m[1]!));
  }
  assert.ok(uris.length >= 8);
  for (const uri of uris) assert.match(uri, new RegExp(`\\?token=${TOKEN}$`), uri);
  // ffmpeg follows them: the token reaches every segment.
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', live('shapes', 'index.m3u8')], { timeout: 30_000 });
  assert.match(stdout, /h264/);
});

test('a test pattern (not H.264) is encoded; bad names are refused', async () => {
  const index = await (await get(live('pattern', 'index.m3u8'))).text();
  assert.match(index, /#EXT-X-STREAM-INF:BANDWIDTH=\d+/);
  const video = parseVideoPlaylist(await (await get(live('pattern', 'video.m3u8'))).text());
  const segment = Buffer.from(await (await get(live('pattern', video.segments[0]!.uri.split('?')[0]!))).arrayBuffer());
  const probe = await new Promise<string>((resolve, reject) => {
    const child = execFile('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,pix_fmt', '-of', 'csv=p=0', '-'], (err, out) => (err ? reject(err) : resolve(out)));
    child.stdin!.end(segment);
  });
  assert.match(probe, /^h264,yuv420p$/m);
  assert.equal((await fetch(live('pattern', 'x.ts'))).status, 400);
  assert.equal((await fetch(live('pattern', '..%2F..%2Fetc%2Fpasswd'))).status, 400);
  assert.equal((await fetch(live('pattern', 'v999999.ts'))).status, 404);
  assert.equal((await fetch(live('nowhere', 'index.m3u8'))).status, 404);
});

test('a stream with no video: 503 naming why, at once, and its ffmpeg left alone', async () => {
  for (const file of ['index.m3u8', 'video.m3u8', 'captions/0.vtt']) {
    const res = await fetch(live('absent', file));
    assert.equal(res.status, 503);
    assert.match(((await res.json()) as { error: string }).error, /stream 'absent' has no live video now: it is (connecting|reconnecting)/);
  }
  assert.equal(ffmpegPidsWith('127.0.0.1:9/absent').filter((pid) => ffmpegPidsWith('video.m3u8').includes(pid)).length, 0);
});

test('once nobody asks, no ffmpeg makes HLS, analysis carries on without a reconnect, and the segments are gone', async () => {
  const unsubscribe = server.bus.subscribe((m) => {
    if (m.type === 'status') statuses.push(m);
  });
  await Promise.all([get(live('shapes', 'index.m3u8')), get(live('pattern', 'index.m3u8'))]);
  assert.ok(hlsRunning() >= 2, 'both streams make live video');
  // Two at once is this server's most: a third is refused, saying why.
  const third = await fetch(live('third', 'index.m3u8'));
  assert.equal(third.status, 503);
  assert.match(((await third.json()) as { error: string }).error, /live video already runs for 2 streams, the most at once \(liveVideo\.maxStreams\)/);
  assert.ok(readdirSync(segmentsRoot).length >= 2);
  const framesOf = async (stream: string) => ((await (await get(`${server.url}/api/streams/${stream}?token=${TOKEN}`)).json()) as { counters: { frames: number; reconnects: number } }).counters;
  const before = await framesOf('pattern');
  await waitFor('no ffmpeg making HLS', () => hlsRunning() === 0, 15_000);
  await waitFor('the segments deleted', () => readdirSync(segmentsRoot).length === 0, 5000);
  // Each stream's own ffmpeg still runs, and its frames are still analysed.
  assert.equal(ffmpegPidsWith('shapes.mp4').length, 1);
  assert.equal(ffmpegPidsWith('testsrc2').length, 1);
  await waitFor('frames after live video stopped', async () => (await framesOf('pattern')).frames > before.frames + 10, 15_000);
  assert.equal((await framesOf('pattern')).reconnects, before.reconnects);
  unsubscribe();
  assert.deepEqual(
    statuses.filter((s) => s.stream !== 'absent' && s.state !== 'live'),
    [],
    'starting and stopping live video is not a reconnect',
  );
  assert.ok(!existsSync(join(segmentsRoot, 'video.m3u8')));
});
