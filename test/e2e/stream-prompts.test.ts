/**
 * Prompts per stream: from the config file and when a stream is added over the API, sent with
 * every keyframe of that stream to its captioner, listed by GET /api/streams, kept across a
 * restart for streams added over the API; refused, with what is wrong, for a captioner that
 * takes none, a Florence-2 task that answers with boxes, or a prompt that is not a sentence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { livecap, reap, type LivecapProcess } from '../helpers/livecap-process.js';
import { modelServer } from '../helpers/chat-server.js';
import { makeTinyFlorence2 } from '../helpers/tiny-florence2.js';
import { resolveServeSettings } from '../../src/config/serve-settings.js';
import { startServer } from '../../src/stream/server.js';
import { CaptionerClient } from '../../src/models/worker/captioner-client.js';

const promptOf = (body: any): string => body.messages[0].content.find((p: any) => p.type === 'text').text;

async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  for (const deadline = Date.now() + ms; ; ) {
    const value = await check();
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a stream prompt from the config file and one given over the API reach the model server with their own keyframes, are listed, and come back after a restart', { timeout: 180_000 }, async () => {
  const vlm = await modelServer();
  const dir = await mkdtemp(join(tmpdir(), 'livecap-prompts-'));
  const history = join(dir, 'history.db');
  const config = join(dir, 'config.json');
  const server = { kind: 'openai', baseUrl: vlm.baseUrl, model: 'llava:7b', prompt: 'Describe the picture.' };
  const name = `openai:llava:7b@${vlm.baseUrl}`;
  await writeFile(
    config,
    JSON.stringify({ sources: { cam: 'testsrc://testsrc', plain: 'testsrc://smptebars' }, captioners: { cam: server, plain: server }, prompts: { cam: 'Is anyone at the door?' } }),
  );
  const args = ['serve', '--config', config, '--port', '0', '--history', history, '--summarizer', 'none', '--analysis-size', '160x120'];
  let p: LivecapProcess | undefined;
  try {
    p = livecap(args);
    let url = await p.url();
    const post = (body: unknown) => fetch(`${url}/api/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const created = await post({ id: 'yard', url: 'testsrc://rgbtestsrc', captioner: name, prompt: 'How many cars are parked?' });
    assert.equal(created.status, 201, await created.clone().text());
    assert.equal(((await created.json()) as any).prompt, 'How many cars are parked?');

    const refusals: [unknown, RegExp][] = [
      [{ id: 'e1', url: 'testsrc://testsrc', prompt: 'Who is there?' }, /captioner 'embedded' takes no prompt; prompts are for Florence-2 exports and vision-language model servers/],
      [{ id: 'e2', url: 'testsrc://testsrc', captioner: name, prompt: 42 }, /prompt must be a non-empty string; got 42/],
      [{ id: 'e3', url: 'testsrc://testsrc', captioner: name, prompt: '   ' }, /prompt must be a non-empty string/],
      [{ id: 'e4', url: 'testsrc://testsrc', captioner: name, prompt: 'x'.repeat(2001) }, /prompt must be at most 2000 characters; got 2001/],
      [{ id: 'e5', url: 'testsrc://testsrc', captioner: name, prompt: 'ring\u0007bell' }, /prompt must not contain control characters/],
    ];
    for (const [body, error] of refusals) {
      const res = await post(body);
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as any).error, error);
    }

    // Each stream's keyframes go with its own prompt; a stream with none gets its server's.
    const prompts = () => new Set(vlm.seen.map((s) => promptOf(s.body)));
    await until('requests with all three prompts', async () => (['Is anyone at the door?', 'How many cars are parked?', 'Describe the picture.'].every((t) => prompts().has(t)) ? true : undefined));
    assert.deepEqual([...prompts()].sort(), ['Describe the picture.', 'How many cars are parked?', 'Is anyone at the door?']);
    const listed = Object.fromEntries(((await (await fetch(`${url}/api/streams`)).json()) as { streams: any[] }).streams.map((s) => [s.id, s.prompt]));
    assert.deepEqual(listed, { cam: 'Is anyone at the door?', plain: undefined, yard: 'How many cars are parked?' });

    // After a restart the stream added over the API comes back with its prompt.
    p.child.kill('SIGTERM');
    assert.equal((await p.exited).code, 0);
    const before = vlm.seen.length;
    p = livecap(args);
    url = await p.url();
    const yard = (await (await fetch(`${url}/api/streams/yard`)).json()) as any;
    assert.equal(yard.prompt, 'How many cars are parked?');
    await until('a request for the restored stream', async () => (vlm.seen.slice(before).some((s) => promptOf(s.body) === 'How many cars are parked?') ? true : undefined));
  } finally {
    reap(p);
    await vlm.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a Florence-2 stream takes its captioning task as its prompt; a task that answers with boxes is refused', { timeout: 120_000 }, async () => {
  const tiny = await makeTinyFlorence2();
  const captioner = await CaptionerClient.start(`onnx:${tiny.dir}`);
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    captioner,
    captionerName: 'florence',
    pipeline: { output: { width: 160, height: 120, fps: 5 }, gate: { maxGapSec: 1 }, thumbnails: false },
  });
  try {
    assert.equal(captioner.takesPrompt, true);
    const post = (body: unknown) => fetch(`${server.url}/api/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const refused = await post({ id: 'boxes', url: 'testsrc://testsrc', prompt: '<OD>' });
    assert.equal(refused.status, 400);
    assert.match(
      ((await refused.json()) as any).error,
      /prompt for captioner 'florence': task <OD> does not answer with a caption; use <CAPTION>, <DETAILED_CAPTION>, <MORE_DETAILED_CAPTION> or a prompt of your own/,
    );
    const ok = await post({ id: 'detailed', url: 'testsrc://testsrc', prompt: '<DETAILED_CAPTION>' });
    assert.equal(ok.status, 201);
    await until('a caption of the detailed stream', async () => (server.streams.get('detailed')!.counters.captions > 0 ? true : undefined), 60_000);
    assert.equal(server.streams.get('detailed')!.prompt, '<DETAILED_CAPTION>');
  } finally {
    await server.close();
    await captioner.close();
    await rm(tiny.dir, { recursive: true, force: true });
  }
});

test('prompts in the config file and --prompt flags are checked with every other setting', () => {
  const s = resolveServeSettings({ source: ['a=testsrc://testsrc', 'b=testsrc://testsrc'], prompt: ['b=What moves?'] }, { prompts: { a: 'Who is there?' } }, 'c.json', {});
  assert.deepEqual(
    [...s.prompts],
    [
      ['a', 'Who is there?'],
      ['b', 'What moves?'],
    ],
  );
  assert.throws(
    () => resolveServeSettings({ source: ['a=testsrc://testsrc'], prompt: ['nobody=Hi', 'bad', 'a='] }, { prompts: { a: 7, zz: 'x'.repeat(2001) } }, 'c.json', {}),
    (err: Error) => {
      for (const want of [
        /c\.json prompts\.a: must be a string, got 7/,
        /prompt for 'zz': there is no stream 'zz'/,
        /prompt for 'zz': must be at most 2000 characters, got 2001/,
        /--prompt: must be STREAM=TEXT/,
        /prompt for 'nobody': there is no stream/,
        /prompt for 'a': must not be empty/,
      ])
        assert.match(err.message, want);
      return true;
    },
  );
});
