import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm, writeFile, stat, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/util/rng.js';
import { randomScene } from '../../src/synth/world.js';
import { renderScene } from '../../src/synth/render.js';
import { contentWords } from '../../src/synth/grammar.js';
import { encodeJpeg, encodePng } from '../../src/media/image.js';
import { CaptionerClient } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER, PROJECT_ROOT } from '../../src/paths.js';

const run = promisify(execFile);
const CLI = join(PROJECT_ROOT, 'bin', 'livecap.js');

test('the embedded model is small', async () => {
  let bytes = 0;
  for (const sub of ['backbone', 'decoder']) {
    for (const f of await readdir(join(EMBEDDED_CAPTIONER, sub))) bytes += (await stat(join(EMBEDDED_CAPTIONER, sub, f))).size;
  }
  assert.ok(bytes < 15 * 2 ** 20, `${bytes} bytes`);
});

test('the embedded captioner names the colour and the shape right on rendered single-object scenes', async () => {
  const captioner = await CaptionerClient.start(EMBEDDED_CAPTIONER, 'wasm');
  try {
    // A seed the training set never used; frames at a video's size, as the live pipeline sees them.
    const rng = new Rng(424242);
    let right = 0;
    const total = 60;
    const wrong: string[] = [];
    for (let i = 0; i < total; i++) {
      const scene = randomScene(rng, 'single');
      const { text } = await captioner.caption(renderScene(scene, 320, 240));
      const words = contentWords(text);
      const [o] = scene.objects;
      // Exactly one colour word and one shape word: the object's.
      if (words.colours.join() === o.colour && words.shapes.join() === o.shape) right++;
      else wrong.push(`${o.colour} ${o.shape} → "${text}"`);
    }
    assert.ok(right / total >= 0.9, `${right}/${total} right; wrong: ${wrong.join('; ')}`);
  } finally {
    await captioner.close();
  }
});

test('livecap caption prints one caption per JPEG and PNG, and names a file that is not an image', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-cli-'));
  try {
    const rng = new Rng(5150);
    let red: ReturnType<typeof randomScene>;
    let blue: ReturnType<typeof randomScene>;
    do red = randomScene(rng, 'single');
    while (red.objects[0].colour !== 'red' || red.objects[0].size !== 'large');
    do blue = randomScene(rng, 'single');
    while (blue.objects[0].colour !== 'blue' || blue.objects[0].size !== 'large');
    await writeFile(join(dir, 'red.jpg'), encodeJpeg(renderScene(red, 320, 240)));
    await writeFile(join(dir, 'blue.png'), encodePng(renderScene(blue, 320, 240)));
    await writeFile(join(dir, 'notes.txt'), 'not an image');
    const { stdout } = await run(process.execPath, [CLI, 'caption', join(dir, 'red.jpg'), join(dir, 'blue.png')], { env: { ...process.env, LIVECAP_LOG: 'warn' } });
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /red\.jpg\t.*\bred (circle|square|triangle|star|cross)\b/);
    assert.match(lines[1], /blue\.png\t.*\bblue (circle|square|triangle|star|cross)\b/);
    await assert.rejects(run(process.execPath, [CLI, 'caption', join(dir, 'notes.txt')], { env: { ...process.env, LIVECAP_LOG: 'warn' } }), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /notes\.txt: not a JPEG or PNG image/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
