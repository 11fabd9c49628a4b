import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { rm, unlink, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadTf } from '../../src/models/tfjs/runtime.js';
import { CnnLstmCaptioner } from '../../src/models/captioner/captioner.js';
import { writeTinyCaptioner } from '../helpers/tiny-captioner.js';
import type { Tf } from '../../src/models/tfjs/tf.js';

let tf: Tf;
before(async () => {
  tf = (await loadTf('wasm')).tf;
});

const image = { width: 2, height: 2, data: new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]) };

test('a Keras-convention model loads and decodes as computed by hand: greedy and beam', async () => {
  const dir = await writeTinyCaptioner(tf);
  const captioner = await CnnLstmCaptioner.load(tf, dir);
  try {
    assert.equal(captioner.shapes.perPosition, false);
    assert.equal(captioner.shapes.wordsLength, 4);
    assert.equal((await captioner.caption(image, { beamWidth: 1, noRepeatNgramSize: 0, maxRepeatRun: 0 })).text, 'a a a a');
    // With the default repetition control a third "a" in a row is banned: the end token is next best.
    assert.equal((await captioner.caption(image, { beamWidth: 1 })).text, 'a a');
    const beam = await captioner.caption(image, { beamWidth: 2 });
    assert.equal(beam.text, 'b');
    // Mean log-probability over "b" and the end token.
    assert.ok(Math.abs(beam.score - Math.log(0.36) / 2) < 1e-4, `score ${beam.score}`);
  } finally {
    captioner.dispose();
    captioner.dispose(); // twice is safe
    await rm(dir, { recursive: true });
  }
});

async function loadError(dir: string): Promise<string> {
  try {
    (await CnnLstmCaptioner.load(tf, dir)).dispose();
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected the model directory to be rejected');
}

test('a missing manifest is named', async () => {
  const dir = await writeTinyCaptioner(tf);
  await unlink(join(dir, 'captioner.json'));
  assert.match(await loadError(dir), /captioner\.json: captioner manifest .* missing/);
  await rm(dir, { recursive: true });
});

test('a missing model file and a missing weight shard are named', async () => {
  const dir = await writeTinyCaptioner(tf);
  await unlink(join(dir, 'decoder', 'weights.bin'));
  assert.match(await loadError(dir), /decoder\/weights\.bin: weight shard named by model\.json is missing/);
  await unlink(join(dir, 'backbone', 'model.json'));
  assert.match(await loadError(dir), /backbone\/model\.json: model file missing/);
  await rm(dir, { recursive: true });
});

test('a backbone that does not take RGB images is rejected with its shape', async () => {
  const dir = await writeTinyCaptioner(tf, { channels: 1 });
  assert.match(await loadError(dir), /backbone\/model\.json: backbone input must be \[batch, height, width, 3\].*got \[null, 2, 2, 1\]/);
  await rm(dir, { recursive: true });
});

test('a backbone whose features do not fit the decoder is rejected', async () => {
  const dir = await writeTinyCaptioner(tf, { features: 4 });
  assert.match(await loadError(dir), /decoder\/model\.json: decoder expects image features \[null, 3\] but the backbone .* gives 4 features/);
  await rm(dir, { recursive: true });
});

test('a vocabulary that does not match the decoder output is rejected with both sizes', async () => {
  const dir = await writeTinyCaptioner(tf, { vocabulary: ['<pad>', 'startseq', 'endseq', 'a', 'b', 'c'] });
  assert.match(await loadError(dir), /vocab\.json: vocabulary has 6 entries .* predicts 5 words/);
  await rm(dir, { recursive: true });
});

test('a Keras word index loads as a vocabulary; broken ones are named', async () => {
  const dir = await writeTinyCaptioner(tf, { vocabulary: { startseq: 1, endseq: 2, a: 3, b: 4 } });
  const c = await CnnLstmCaptioner.load(tf, dir);
  assert.equal((await c.caption(image, { beamWidth: 2 })).text, 'b');
  c.dispose();
  await writeFile(join(dir, 'vocab.json'), JSON.stringify({ a: 3, b: 4 }));
  assert.match(await loadError(dir), /vocab\.json: vocabulary has no 'startseq' token/);
  await writeFile(join(dir, 'vocab.json'), '{not json');
  assert.match(await loadError(dir), /vocab\.json: not valid JSON/);
  await rm(dir, { recursive: true });
});

test('manifest errors are listed together', async () => {
  const dir = await writeTinyCaptioner(tf);
  const manifest = JSON.parse(await readFile(join(dir, 'captioner.json'), 'utf8'));
  manifest.backbone.pixelScale = 'bogus';
  manifest.decoder.padding = 'middle';
  delete manifest.vocabulary;
  await writeFile(join(dir, 'captioner.json'), JSON.stringify(manifest));
  const message = await loadError(dir);
  assert.match(message, /pixelScale must be one of/);
  assert.match(message, /padding must be "pre" or "post"/);
  assert.match(message, /vocabulary must be a path string/);
  await rm(dir, { recursive: true });
});
