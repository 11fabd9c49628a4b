/**
 * The ONNX generation engine on tiny BART models the project writes itself, in the exact
 * Hugging Face export layout, checked against an independent plain-JavaScript BART
 * (helpers/bart-reference.ts): the encoder output, greedy and beam outputs, with and without
 * the key/value cache, and the clear errors of broken model folders.
 */
import assert from 'node:assert/strict';
import { copyFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { resolveGeneration } from '../../src/models/seq2seq/generation-config.js';
import { generate } from '../../src/models/seq2seq/search.js';
import { TextSeq2Seq } from '../../src/models/seq2seq/text-seq2seq.js';
import { openSession } from '../../src/models/onnx/runtime.js';
import { readJsonFile } from '../../src/util/json-file.js';
import { ReferenceBart } from '../helpers/bart-reference.js';
import { makeTinyBart, TINY_CORPUS, type TinyBart } from '../helpers/tiny-bart.js';

const INPUT = 'a large red star on the grass. a blue circle in the sky.';
let merged: TinyBart;
let split: TinyBart;
const dirs: string[] = [];

before(async () => {
  merged = await makeTinyBart();
  split = await makeTinyBart({ layout: 'split' });
  dirs.push(merged.dir, split.dir);
});
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function referenceGenerate(t: TinyBart, text: string, numBeams: number): Promise<number[]> {
  const tok = new Tokenizer((await readJsonFile(join(t.dir, 'tokenizer.json'), 'tokenizer')) as object, {});
  const ids = tok.encode(text).ids;
  const generationConfig = (await readJsonFile(join(t.dir, 'generation_config.json'), 'generation config')) as Record<string, unknown>;
  const options = resolveGeneration(generationConfig, {}, { numBeams }, t.dir);
  const ref = new ReferenceBart(t.config, t.weights);
  return (await generate(ref.stepper(ids, numBeams), options)).tokens;
}

test('the exported encoder computes what the reference BART computes', async () => {
  const model = await TextSeq2Seq.open(merged.dir);
  const session = await openSession(join(merged.dir, 'onnx', 'encoder_model.onnx'));
  try {
    const ids = model.encode(INPUT);
    const out = await session.run({
      input_ids: { type: 'int64', data: BigInt64Array.from(ids, BigInt), dims: [1, ids.length] },
      attention_mask: { type: 'int64', data: new BigInt64Array(ids.length).fill(1n), dims: [1, ids.length] },
    });
    const expected = new ReferenceBart(merged.config, merged.weights).encode(ids);
    const got = out.last_hidden_state!.data as Float32Array;
    assert.deepEqual(out.last_hidden_state!.dims, [1, ids.length, merged.config.dModel]);
    let worst = 0;
    expected.forEach((row, t) => row.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - got[t * merged.config.dModel + i]!)))));
    assert.ok(worst < 1e-4, `largest difference ${worst}`);
  } finally {
    await session.release();
    await model.release();
  }
});

test('greedy and beam outputs match the reference, with the merged KV-cache decoder', async () => {
  const model = await TextSeq2Seq.open(merged.dir);
  try {
    for (const numBeams of [1, 3]) {
      const got = await model.generate(INPUT, { numBeams });
      assert.deepEqual(got.tokens, await referenceGenerate(merged, INPUT, numBeams), `num_beams ${numBeams}`);
      assert.equal(got.tokens[0], merged.config.bosTokenId, 'forced BOS first');
      assert.ok(got.tokens.length <= 11, 'max_length 12 with the start token');
    }
    const greedy = await model.generate(INPUT, { numBeams: 1 });
    const beam = await model.generate(INPUT, { numBeams: 3 });
    assert.ok(beam.score >= greedy.score - 1e-9, 'beam search scores at least as well as greedy');
  } finally {
    await model.release();
  }
});

test('the split decoder (decoder_with_past_model.onnx) and the uncached decoder give the same tokens', async () => {
  const splitModel = await TextSeq2Seq.open(split.dir);
  assert.equal(splitModel.files.decoder.kind, 'split');
  // Without any cached decoder file, every step reruns the whole sequence.
  await rm(join(split.dir, 'onnx', 'decoder_with_past_model.onnx'));
  const uncached = await TextSeq2Seq.open(split.dir);
  assert.equal(uncached.files.decoder.kind, 'uncached');
  try {
    for (const numBeams of [1, 3]) {
      const expected = await referenceGenerate(split, INPUT, numBeams);
      assert.deepEqual((await splitModel.generate(INPUT, { numBeams })).tokens, expected);
      assert.deepEqual((await uncached.generate(INPUT, { numBeams })).tokens, expected);
    }
  } finally {
    await splitModel.release();
    await uncached.release();
  }
});

test('generation_config.json sets the defaults and a call overrides them', async () => {
  const model = await TextSeq2Seq.open(merged.dir);
  try {
    assert.equal(model.generation.numBeams, 3);
    assert.equal(model.generation.maxLength, 12);
    assert.equal(model.generation.noRepeatNgramSize, 2);
    const short = await model.generate(INPUT, { maxLength: 4, numBeams: 1 });
    assert.equal(short.tokens.length, 3);
    assert.equal(short.tokens.at(-1), merged.config.eosTokenId, 'forced EOS at max_length');
    const long = await model.generate(INPUT, { minLength: 10, maxLength: 12, numBeams: 1 });
    assert.ok(long.tokens.length >= 9, `min_length 10 (start included) gave ${long.tokens.length} tokens`);
    const bigrams = long.tokens.slice(0, -1).map((t, i) => `${t} ${long.tokens[i + 1]}`);
    assert.equal(new Set(bigrams).size, bigrams.length, 'no bigram twice');
    await assert.rejects(
      model.generate(INPUT, { numBeams: 0, maxLength: 1 }),
      /num_beams must be an integer ≥ 1, got 0; .*max_length must be an integer ≥ 2, got 1|max_length must be an integer ≥ 2, got 1; num_beams must be an integer ≥ 1, got 0/,
    );
  } finally {
    await model.release();
  }
});

test('the tokenizer round-trips text and keeps the special tokens BART expects', async () => {
  const model = await TextSeq2Seq.open(merged.dir);
  try {
    for (const text of [...TINY_CORPUS, 'Zebras café 42 — ünïcödé 🎥 done.']) {
      const ids = model.encode(text);
      assert.equal(ids[0], 0, '<s> first');
      assert.equal(ids.at(-1), 2, '</s> last');
      assert.equal(model.decode(ids), text);
    }
    // Words of the training corpus are single tokens: "circle" is one id after <s> and "a".
    assert.equal(model.encode('a circle').length, 4);
  } finally {
    await model.release();
  }
});

test('a broken model folder gives an error naming what is wrong', async () => {
  const broken = await makeTinyBart();
  dirs.push(broken.dir);
  await rm(join(broken.dir, 'tokenizer.json'));
  await rm(join(broken.dir, 'onnx', 'encoder_model.onnx'));
  await assert.rejects(TextSeq2Seq.open(broken.dir), /missing tokenizer\.json, onnx\/encoder_model\.onnx/);
  await assert.rejects(TextSeq2Seq.open(join(broken.dir, 'nope')), /model folder not found/);

  // A decoder file that is really an encoder: the wrong input names are listed.
  const wrong = await makeTinyBart();
  dirs.push(wrong.dir);
  await copyFile(join(wrong.dir, 'onnx', 'encoder_model.onnx'), join(wrong.dir, 'onnx', 'decoder_model_merged.onnx'));
  await assert.rejects(TextSeq2Seq.open(wrong.dir), /decoder_model_merged\.onnx: not a decoder: it lacks input 'encoder_hidden_states' \(its inputs: input_ids, attention_mask\)/);

  // A corrupt ONNX file names the file.
  await writeFile(join(wrong.dir, 'onnx', 'decoder_model_merged.onnx'), 'not a model');
  await assert.rejects(TextSeq2Seq.open(wrong.dir), /decoder_model_merged\.onnx/);

  // A bad generation setting is named.
  await writeFile(join(wrong.dir, 'generation_config.json'), JSON.stringify({ num_beams: 0, decoder_start_token_id: 2, eos_token_id: 2 }));
  await assert.rejects(TextSeq2Seq.open(wrong.dir), /num_beams must be an integer ≥ 1, got 0/);
});
