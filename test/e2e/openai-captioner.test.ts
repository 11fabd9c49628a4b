/**
 * Vision-language model servers as captioners (kind 'openai'), against a real HTTP server in
 * the test that speaks the OpenAI chat-completions protocol on 127.0.0.1: the request's shape
 * (model, prompt, a JPEG data URL, the bearer key), captions end to end through `livecap serve`
 * and through the server, retries after 503 and 429 (Retry-After), a server that never answers
 * (the deadline, noted in the stream's status), the key kept out of logs, answers and errors,
 * the in-flight limit shared per server, and bad settings listed at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../src/stream/server.js';
import { Thumbnailer } from '../../src/media/thumbnails.js';
import { OpenAiCaptioner, retryAfterMs } from '../../src/models/openai/chat-captioner.js';
import { OPENAI_DEFAULTS, type OpenAiCaptionerSpec } from '../../src/models/openai/spec.js';
import { resolveServeSettings } from '../../src/config/serve-settings.js';
import { livecap, reap, type LivecapProcess } from '../helpers/livecap-process.js';
import { waitFor } from '../helpers/processes.js';
import { modelServer, checkRequest } from '../helpers/chat-server.js';

const KEY = 'sk-test-5f0c1d9e8b7a6';

test('livecap serve captions a stream through a chat-completions server: prompt, JPEG data URL and bearer key sent; the key is never in logs or answers', { timeout: 120_000 }, async () => {
  // The first answer is an error that quotes the request's Authorization header, as some servers do.
  const vlm = await modelServer((n, req, res) => {
    if (n > 1) return 'caption';
    res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `bad request from ${req.headers.authorization}` } }));
    return 'handled';
  });
  const dir = await mkdtemp(join(tmpdir(), 'livecap-vlm-'));
  let p: LivecapProcess | undefined;
  try {
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ captioner: { kind: 'openai', baseUrl: vlm.baseUrl, model: 'llava:7b', prompt: 'What is on screen?', apiKeyEnv: 'VLM_KEY' } }));
    p = livecap(['serve', '--config', config, '--port', '0', '--history', ':memory:', '--summarizer', 'none', '--source', 'cam=testsrc://testsrc', '--analysis-size', '160x120'], {
      env: { VLM_KEY: KEY, LIVECAP_LOG: 'info' },
    });
    const url = await p.url();
    let events: any[] = [];
    for (const deadline = Date.now() + 60_000; !events.some((e) => e.type === 'caption'); ) {
      assert.ok(Date.now() < deadline, `no caption within 60 s; stderr: ${p.stderr().slice(-1000)}`);
      await new Promise((r) => setTimeout(r, 200));
      events = ((await (await fetch(`${url}/api/streams/cam/captions`)).json()) as { captions: any[] }).captions;
    }
    assert.match(events[0].text, /^A test pattern seen by llava:7b, number \d+\.$/, 'trimmed to its first line');
    assert.deepEqual(vlm.problems, []);
    for (const s of vlm.seen) {
      assert.equal(s.auth, `Bearer ${KEY}`);
      checkRequest(s, 'llava:7b', 'What is on screen?');
    }
    const streams = await (await fetch(`${url}/api/streams`)).text();
    assert.match(streams, new RegExp(`"captioner":"openai:llava:7b@${vlm.baseUrl.replace(/[.]/g, '\\.')}"`));
    assert.ok(!streams.includes(KEY), 'the key is not in /api/streams');
    assert.match(p.stderr(), /answered 400.*caption failed/, 'the failed first caption was logged');
    assert.match(p.stderr(), /Bearer \*\*\*/, 'the quoted key was scrubbed');
    assert.ok(!p.stderr().includes(KEY) && !p.stdout().includes(KEY), 'the key is not in the logs');
  } finally {
    reap(p);
    await vlm.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** A captioner for the tests that call it directly, with its JPEGs made by a real Thumbnailer. */
function captionerFor(spec: Omit<OpenAiCaptionerSpec, 'kind'>, thumbnails: Thumbnailer, apiKey?: string) {
  return new OpenAiCaptioner({ kind: 'openai', ...spec }, { apiKey, timeoutMs: 10_000, encode: (f) => thumbnails.dataUrl(f) });
}

const grey = { width: 160, height: 120, data: new Uint8Array(160 * 120 * 3).fill(128) };

test('a dropped connection, a 503 and a 429 with Retry-After are tried again, after the wait the server asked for', { timeout: 60_000 }, async () => {
  const vlm = await modelServer((n, req, res) => {
    if (n === 1) req.socket.destroy();
    else if (n === 2) res.writeHead(503).end('loading model');
    else if (n === 3) res.writeHead(429, { 'retry-after': '1' }).end('slow down');
    else return 'caption';
    return 'handled';
  });
  const thumbnails = new Thumbnailer();
  const captioner = captionerFor({ baseUrl: vlm.baseUrl, model: 'qwen2-vl' }, thumbnails);
  try {
    const caption = await captioner.caption(grey);
    assert.equal(caption.text, 'A test pattern seen by qwen2-vl, number 4.');
    assert.equal(vlm.seen.length, 4);
    for (const s of vlm.seen) {
      assert.equal(s.auth, undefined, 'no key configured, no Authorization header');
      checkRequest(s, 'qwen2-vl', OPENAI_DEFAULTS.prompt);
    }
    assert.ok(vlm.seen[1].at - vlm.seen[0].at >= OPENAI_DEFAULTS.backoffMs - 50, 'backoff after the dropped connection');
    assert.ok(vlm.seen[2].at - vlm.seen[1].at >= 2 * OPENAI_DEFAULTS.backoffMs - 50, 'a doubled backoff after the 503');
    assert.ok(vlm.seen[3].at - vlm.seen[2].at >= 950, `Retry-After: 1 honoured (waited ${vlm.seen[3].at - vlm.seen[2].at} ms)`);
  } finally {
    await captioner.close();
    await thumbnails.close();
    await vlm.close();
  }
});

test('a server that keeps failing ends in an error that names the captioner, the request and the cause, without the key', { timeout: 60_000 }, async () => {
  const vlm = await modelServer((_n, req, res) => {
    res.writeHead(500).end(`internal error for ${req.headers.authorization}`);
    return 'handled';
  });
  const thumbnails = new Thumbnailer();
  const captioner = captionerFor({ baseUrl: vlm.baseUrl, model: 'llava' }, thumbnails, KEY);
  try {
    const err = await captioner.caption(grey).then(
      () => assert.fail('a caption'),
      (e: Error) => e,
    );
    assert.equal(err.name, 'ModelServerError');
    assert.equal(vlm.seen.length, 1 + OPENAI_DEFAULTS.retries);
    assert.match(err.message, new RegExp(`^captioner openai:llava@${vlm.baseUrl}: POST ${vlm.baseUrl}/chat/completions answered 500: internal error for Bearer \\*\\*\\* \\(after 4 tries\\)$`));
    assert.ok(!err.message.includes(KEY));
  } finally {
    await captioner.close();
    await thumbnails.close();
    await vlm.close();
  }
});

test('a server that never answers hits the deadline; the stream stays live and its status says so, without the key, until it answers again', { timeout: 60_000 }, async () => {
  let answering = false;
  const vlm = await modelServer(() => (answering ? 'caption' : 'handled'));
  const thumbnails = new Thumbnailer();
  const captioner = captionerFor({ baseUrl: vlm.baseUrl, model: 'llava', timeout: 0.5 }, thumbnails, KEY);
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    captioner,
    captionerName: captioner.name,
    pipeline: { output: { width: 160, height: 120, fps: 5 }, gate: { maxGapSec: 1 }, thumbnails: false },
  });
  try {
    server.manager!.add('cam', 'testsrc://testsrc');
    const info = await waitFor(
      'a status note',
      () => {
        const s = server.streams.get('cam');
        return s?.error ? s : undefined;
      },
      30_000,
    );
    assert.equal(info.state, 'live');
    assert.equal(info.error, `captioner openai:llava@${vlm.baseUrl}: POST ${vlm.baseUrl}/chat/completions did not answer within 0.5 s`);
    const streams = await (await fetch(`${server.url}/api/streams`)).text();
    assert.match(streams, /did not answer within 0\.5 s/);
    assert.ok(!streams.includes(KEY));
    assert.equal(vlm.seen[0].auth, `Bearer ${KEY}`);
    answering = true;
    await waitFor('a caption once the server answers', () => server.streams.get('cam')!.counters.captions > 0, 30_000);
    assert.equal(server.streams.get('cam')!.error, undefined, 'the note is cleared');
    assert.equal(server.streams.get('cam')!.state, 'live');
  } finally {
    await server.close();
    await captioner.close();
    await thumbnails.close();
    await vlm.close();
  }
});

test('requests in flight to one server stay within its limit, shared by every stream and captioner that uses it', { timeout: 90_000 }, async () => {
  const vlm = await modelServer(() => 'handled');
  const thumbnails = new Thumbnailer();
  const a = captionerFor({ baseUrl: vlm.baseUrl, model: 'model-a', maxConcurrent: 2 }, thumbnails);
  const b = captionerFor({ baseUrl: vlm.baseUrl, model: 'model-b', maxConcurrent: 2 }, thumbnails);
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    captioner: a,
    captionerName: a.name,
    captioners: new Map([[b.name, b]]),
    pipeline: { output: { width: 160, height: 120, fps: 5 }, gate: { maxGapSec: 1 }, thumbnails: false },
  });
  try {
    server.manager!.add('s1', 'testsrc://testsrc');
    server.manager!.add('s2', 'testsrc://smptebars');
    server.manager!.add('s3', 'testsrc://testsrc', b.name);
    server.manager!.add('s4', 'testsrc://rgbtestsrc', b.name);
    // Every stream has a keyframe waiting well before the held requests are let go.
    await waitFor('two held requests', () => vlm.inFlight === 2, 30_000);
    await waitFor('keyframes from every stream', () => ['s1', 's2', 's3', 's4'].every((id) => server.streams.get(id)!.counters.keyframes > 0), 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(vlm.maxInFlight, 2, 'no third request while two are held');
    // Let the held requests go two at a time: the waiting ones (of both captioners) follow in turn.
    const bothSent = () => vlm.seen.some((s) => s.body.model === 'model-a') && vlm.seen.some((s) => s.body.model === 'model-b');
    for (let round = 0; round < 10 && !bothSent(); round++) {
      const sent = vlm.seen.length;
      vlm.releaseHeld();
      await waitFor('the next two requests', () => vlm.seen.length >= sent + 2, 30_000);
    }
    vlm.releaseHeld();
    assert.ok(bothSent(), 'both captioners sent requests');
    assert.equal(vlm.maxInFlight, 2);
    await waitFor('captions from the released requests', () => ['s1', 's2', 's3', 's4'].some((id) => server.streams.get(id)!.counters.captions > 0), 30_000);
  } finally {
    await server.close();
    await a.close();
    await b.close();
    await thumbnails.close();
    await vlm.close();
  }
});

test('bad model-server settings are all listed at once; the flag form and names are read', () => {
  const env = { SET_KEY: 'x' };
  const settings = resolveServeSettings(
    { source: ['cam=testsrc://testsrc', 'yard=testsrc://smptebars'], captioner: ['yard=openai:llava:7b@http://127.0.0.1:11434/v1/'] },
    { captioner: { kind: 'openai', baseUrl: 'http://gpu:8000/v1', model: 'Qwen/Qwen2-VL-7B-Instruct', apiKeyEnv: 'SET_KEY' } },
    'c.json',
    env,
  );
  assert.deepEqual(settings.captioner, { kind: 'openai', baseUrl: 'http://gpu:8000/v1', model: 'Qwen/Qwen2-VL-7B-Instruct', apiKeyEnv: 'SET_KEY' });
  assert.deepEqual(settings.captioners.get('yard'), { kind: 'openai', model: 'llava:7b', baseUrl: 'http://127.0.0.1:11434/v1' });
  const file = {
    sources: { a: 'testsrc://testsrc', b: 'testsrc://testsrc', c: 'testsrc://testsrc', d: 'testsrc://testsrc' },
    captioner: { kind: 'openai', model: 'llava' },
    captioners: {
      a: { kind: 'openai', baseUrl: 'file:///etc/passwd', model: 'llava' },
      b: { kind: 'gemini', baseUrl: 'http://x/v1', model: 'm' },
      c: { kind: 'openai', baseUrl: 'http://x/v1', model: 'm', apiKeyEnv: 'UNSET_KEY', maxConcurrent: 0 },
      d: { kind: 'openai', baseUrl: 'http://x/v1' },
    },
  };
  assert.throws(
    () => resolveServeSettings({ captioner: ['b=openai:nomodel'] }, file, 'c.json', env),
    (err: Error) => {
      for (const line of [
        'c.json captioner: baseUrl is missing',
        "c.json captioners.a: baseUrl must be an http:// or https:// URL, got 'file:///etc/passwd'",
        'c.json captioners.c: apiKeyEnv names UNSET_KEY, which is not set',
        'c.json captioners.c: maxConcurrent must be a whole number above 0, got 0',
        'c.json captioners.d: model is missing',
        '--captioner b: must be openai:MODEL@BASEURL',
      ])
        assert.ok(err.message.includes(line), `${line} in:\n${err.message}`);
      assert.match(err.message, /c\.json captioners\.b: unknown captioner kind "gemini" \(known: openai\)/);
      return true;
    },
  );
  // One name (model and server), two different settings.
  assert.throws(
    () =>
      resolveServeSettings(
        { source: ['a=testsrc://testsrc', 'b=testsrc://testsrc'], captioner: ['b=openai:llava@http://x/v1'] },
        { captioners: { a: { kind: 'openai', baseUrl: 'http://x/v1', model: 'llava', prompt: 'Who is at the door?' } } },
        'c.json',
        env,
      ),
    (err: Error) => {
      assert.match(err.message, /captioners: openai:llava@http:\/\/x\/v1 is given with different settings/);
      return true;
    },
  );
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
  assert.equal(retryAfterMs('2', now), 2000);
  assert.equal(retryAfterMs('Wed, 21 Oct 2026 07:28:05 GMT', now), 5000);
  assert.equal(retryAfterMs('Wed, 21 Oct 2026 07:27:00 GMT', now), 0, 'a date past is no wait');
  assert.equal(retryAfterMs('soon', now), undefined);
  assert.equal(retryAfterMs(null, now), undefined);
});
