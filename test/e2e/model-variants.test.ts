/**
 * The variants of a Hugging Face ONNX export (fp16, q8, int8, uint8, q4, q4f16 files beside the
 * fp32 ones): the tiny BART and ViT-GPT2 exports are written with each variant (weight-variants.ts:
 * float16 weights with Casts, MatMulInteger dynamic quantization, 4-bit MatMulNBits), and
 *
 * - livecap loads each variant it is asked for, and its greedy tokens equal transformers.js's
 *   (an implementation nobody here wrote) loading the same folder with the same `dtype`;
 * - each variant's logits stay close to fp32's (the quantization is real, and not wrong);
 * - auto takes fp32 when present and the next variant in order when not; a variant that is
 *   missing is an error naming the variants and files that are there;
 * - the worker clients, `livecap summarize --dtype` and `livecap serve --dtype` load the
 *   variant named, and an fp16 export with float16 inputs and outputs runs too.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { AutoImageProcessor, AutoModelForSeq2SeqLM, AutoModelForVision2Seq, AutoTokenizer, RawImage, Tensor, env } from '@huggingface/transformers';
import { TextSeq2Seq } from '../../src/models/seq2seq/text-seq2seq.js';
import { ImageSeq2Seq } from '../../src/models/seq2seq/image-seq2seq.js';
import { availableDtypes, chooseVariant, parseDtype, splitModelSpec, withDtype, type ModelDtype } from '../../src/models/seq2seq/dtype.js';
import { parseCaptionerSpec } from '../../src/models/captioner/spec.js';
import { CaptionerClient } from '../../src/models/worker/captioner-client.js';
import { SummarizerClient } from '../../src/models/worker/summarizer-client.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import type { WeightVariant } from '../../src/models/onnx/weight-variants.js';
import { exportBartOnnx } from '../../src/train/bart/bart-onnx.js';
import { livecap, reap, type LivecapProcess } from '../helpers/livecap-process.js';
import { writeFile } from 'node:fs/promises';
import { makeTinyBart, type TinyBart } from '../helpers/tiny-bart.js';
import { makeTinyVitGpt2, type TinyVitGpt2 } from '../helpers/tiny-vit-gpt2.js';
import type { Frame } from '../../src/core/frame.js';

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.useFSCache = false;
env.useBrowserCache = false;

const VARIANTS: readonly WeightVariant[] = ['fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'];
const ALL: readonly ModelDtype[] = ['fp32', ...VARIANTS];

/**
 * How far each variant's logits may move from fp32's, as a share of the fp32 logits' range
 * over the sequence: float16 weights round at 2⁻¹¹, 8-bit weights at 1/255 of a column's range,
 * 4-bit ones at 1/14 of a block's (NF4: up to 1/7 of a block's, nearer zero finer).
 */
const TOLERANCE: Record<ModelDtype, number> = { fp32: 0, fp16: 0.005, q8: 0.05, int8: 0.05, uint8: 0.05, q4: 0.3, q4f16: 0.3, bnb4: 0.3 };

interface OracleModel {
  (inputs: Record<string, unknown>): Promise<{ logits: Tensor }>;
  generate(inputs: Record<string, unknown>): Promise<Tensor>;
  dispose(): Promise<unknown>;
}

function localId(dir: string): string {
  env.localModelPath = dirname(dir);
  return basename(dir);
}

let bart: TinyBart;
let vit: TinyVitGpt2;
const made: string[] = [];
before(async () => {
  bart = await makeTinyBart({ variants: VARIANTS });
  vit = await makeTinyVitGpt2({ variants: VARIANTS });
  made.push(bart.dir, vit.dir);
});
after(async () => {
  for (const d of made) await rm(d, { recursive: true, force: true });
});

/** The largest logit difference from fp32 over a sequence, as a share of fp32's logit range. */
function drift(fp32: Float32Array, other: Float32Array): number {
  let worst = 0;
  let [lo, hi] = [Infinity, -Infinity];
  for (let i = 0; i < fp32.length; i++) {
    lo = Math.min(lo, fp32[i]!);
    hi = Math.max(hi, fp32[i]!);
    worst = Math.max(worst, Math.abs(fp32[i]! - other[i]!));
  }
  return worst / (hi - lo);
}

const TEXTS = ['a large red star on the grass. a blue circle in the sky.', 'three small yellow crosses on the snow'];

test('BART: every variant loads, its greedy tokens equal transformers.js with the same dtype, and its logits stay near fp32', async (t) => {
  const id = localId(bart.dir);
  const tokenizer = await AutoTokenizer.from_pretrained(id);
  const reference = new Map<string, Float32Array>();
  // The logits are compared along one fixed decoder input per text: fp32's greedy output.
  const fixed = new Map<string, number[]>();
  const fp32 = await TextSeq2Seq.open(bart.dir);
  const fp32Greedy = await fp32.generate(TEXTS[0]!, { numBeams: 1 });
  for (const text of TEXTS) fixed.set(text, [bart.config.decoderStartTokenId, ...(await fp32.generate(text, { numBeams: 1 })).tokens.slice(0, 8)]);
  await fp32.release();
  for (const dtype of ALL) {
    const ours = await TextSeq2Seq.open(bart.dir, { dtype });
    const oracle = (await AutoModelForSeq2SeqLM.from_pretrained(id, { dtype })) as unknown as OracleModel;
    try {
      assert.equal(ours.dtype, dtype);
      // livecap ran this variant's files: its numbers are not fp32's.
      if (dtype !== 'fp32') assert.notEqual((await ours.generate(TEXTS[0]!, { numBeams: 1 })).logProbability, fp32Greedy.logProbability, dtype);
      const drifts: number[] = [];
      for (const text of TEXTS) {
        const input_ids = (tokenizer(text) as { input_ids: Tensor }).input_ids;
        const attention_mask = new Tensor('int64', new BigInt64Array(input_ids.dims[1]!).fill(1n), input_ids.dims);
        for (const o of [{ numBeams: 1 }, { numBeams: 1, maxLength: 10, noRepeatNgramSize: 0 }]) {
          const kwargs = { num_beams: 1, ...(o.maxLength ? { max_new_tokens: o.maxLength - 1, no_repeat_ngram_size: 0 } : {}) };
          const theirs = (await oracle.generate({ input_ids, attention_mask, ...kwargs })).tolist()[0]!.map(Number).slice(1);
          assert.deepEqual((await ours.generate(text, o)).tokens, theirs, `${dtype} "${text}" ${JSON.stringify(o)}`);
        }
        const ids = fixed.get(text)!;
        const decoder_input_ids = new Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]);
        const { logits } = await oracle({ input_ids, attention_mask, decoder_input_ids, decoder_attention_mask: new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]) });
        const data = Float32Array.from(logits.data as Float32Array);
        if (dtype === 'fp32') reference.set(text, data);
        else drifts.push(drift(reference.get(text)!, data));
      }
      if (dtype !== 'fp32') {
        const worst = Math.max(...drifts);
        t.diagnostic(`${dtype}: logits within ${(worst * 100).toFixed(2)}% of fp32's range`);
        assert.ok(worst > 0, `${dtype}: the logits are exactly fp32's, so the variant changed nothing`);
        assert.ok(worst < TOLERANCE[dtype], `${dtype}: logits drift ${worst} of fp32's range (at most ${TOLERANCE[dtype]})`);
      }
    } finally {
      await oracle.dispose();
      await ours.release();
    }
  }
});

function picture(): Frame {
  const width = 32;
  const height = 32;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(x > 8 && x < 20 && y > 6 && y < 22 ? [240, 200, 30] : [x * 7, 20, y * 6], (y * width + x) * 3);
  return { width, height, data };
}

test('ViT-GPT2: every variant loads, its greedy caption equals transformers.js with the same dtype, and its logits stay near fp32', async (t) => {
  const id = localId(vit.dir);
  const processor = await AutoImageProcessor.from_pretrained(id);
  const frame = picture();
  const { pixel_values } = (await processor(new RawImage(new Uint8ClampedArray(frame.data), frame.width, frame.height, 3))) as { pixel_values: Tensor };
  let reference: Float32Array | undefined;
  let fixed: number[] | undefined;
  for (const dtype of ALL) {
    const ours = await ImageSeq2Seq.open(vit.dir, { dtype });
    const oracle = (await AutoModelForVision2Seq.from_pretrained(id, { dtype })) as unknown as OracleModel;
    try {
      assert.equal(ours.dtype, dtype);
      for (const o of [{ numBeams: 1 }, { numBeams: 1, maxLength: 12, noRepeatNgramSize: 0 }]) {
        const kwargs = { num_beams: 1, ...(o.maxLength ? { max_new_tokens: o.maxLength - 1, no_repeat_ngram_size: 0 } : {}) };
        const theirs = (await oracle.generate({ pixel_values, ...kwargs })).tolist()[0]!.map(Number).slice(1);
        const got = await ours.caption(frame, o);
        assert.deepEqual(got.tokens, theirs, `${dtype} ${JSON.stringify(o)}`);
        fixed ??= [vit.config.eos, ...got.tokens.slice(0, 8)];
      }
      const decoder_input_ids = new Tensor('int64', BigInt64Array.from(fixed!, BigInt), [1, fixed!.length]);
      const { logits } = await oracle({ pixel_values, decoder_input_ids, decoder_attention_mask: new Tensor('int64', new BigInt64Array(fixed!.length).fill(1n), [1, fixed!.length]) });
      const data = Float32Array.from(logits.data as Float32Array);
      if (dtype === 'fp32') reference = data;
      else {
        const d = drift(reference!, data);
        t.diagnostic(`${dtype}: logits within ${(d * 100).toFixed(2)}% of fp32's range`);
        assert.ok(d > 0 && d < TOLERANCE[dtype], `${dtype}: logits drift ${d} of fp32's range (at most ${TOLERANCE[dtype]})`);
      }
    } finally {
      await oracle.dispose();
      await ours.release();
    }
  }
});

test('each variant file is smaller than its fp32 file (the tiny models are mostly embeddings, which stay float32 but in fp16)', () => {
  for (const name of ['encoder_model', 'decoder_model_merged']) {
    const size = (suffix: string) => statSync(join(bart.dir, 'onnx', `${name}${suffix}.onnx`)).size;
    for (const suffix of ['_fp16', '_quantized', '_int8', '_uint8', '_q4', '_q4f16', '_bnb4']) assert.ok(size(suffix) < size(''), `${name}${suffix}`);
    assert.ok(size('_q4') < size('_int8') && size('_q4f16') < size('_fp16'), `${name}: 4-bit weights below 8-bit ones`);
  }
});

test('auto takes fp32 where present, else the next variant in order; a missing variant lists what is there', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-variants-'));
  made.push(dir);
  await cp(bart.dir, dir, { recursive: true });
  const auto = await TextSeq2Seq.open(dir);
  assert.equal(auto.dtype, 'fp32');
  await auto.release();

  // Without the fp32 and q8 files, auto runs int8.
  for (const name of readdirSync(join(dir, 'onnx'))) if (!/_(fp16|int8|uint8|q4|q4f16|bnb4)\.onnx$/.test(name)) await rm(join(dir, 'onnx', name));
  const fallback = await TextSeq2Seq.open(dir);
  assert.equal(fallback.dtype, 'int8');
  await fallback.release();

  await assert.rejects(
    TextSeq2Seq.open(dir, { dtype: 'q8' }),
    (err: Error) =>
      /has no q8 variant \(it needs onnx\/encoder_model_quantized\.onnx and onnx\/decoder_model_merged_quantized\.onnx/.test(err.message) &&
      /variants there: int8, uint8, fp16, q4, q4f16, bnb4;/.test(err.message) &&
      err.message.includes('onnx/encoder_model_int8.onnx') &&
      /--dtype/.test(err.message),
  );
  await assert.rejects(TextSeq2Seq.open(dir, { dtype: 'fp32' }), /has no fp32 variant .*variants there: int8/);
});

test('variant names and specs: transformers.js file names, ?dtype= in a spec, errors for unknown names', () => {
  const files = new Set([
    'onnx/encoder_model.onnx',
    'onnx/decoder_model_merged.onnx',
    'onnx/encoder_model_quantized.onnx',
    'onnx/decoder_model_merged_quantized.onnx',
    'onnx/encoder_model_q4f16.onnx',
    'onnx/decoder_model_q4f16.onnx',
  ]);
  const find = (name: string) => (files.has(`onnx/${name}`) ? `onnx/${name}` : undefined);
  assert.deepEqual(availableDtypes(find), ['fp32', 'q8', 'q4f16']);
  assert.deepEqual(chooseVariant(find, 'q8', { model: 'm', onnxFiles: [] }), {
    dtype: 'q8',
    encoder: 'onnx/encoder_model_quantized.onnx',
    decoder: { kind: 'merged', path: 'onnx/decoder_model_merged_quantized.onnx' },
  });
  assert.deepEqual(chooseVariant(find, 'q4f16', { model: 'm', onnxFiles: [] })?.decoder, { kind: 'uncached', path: 'onnx/decoder_model_q4f16.onnx' });
  assert.equal(chooseVariant(find, 'auto', { model: 'm', onnxFiles: [] })?.dtype, 'fp32');
  assert.equal(
    chooseVariant(() => undefined, 'auto', { model: 'm', onnxFiles: [] }),
    undefined,
  );
  assert.throws(() => chooseVariant(find, 'bnb4', { model: 'm', onnxFiles: [...files] }), /m has no bnb4 variant .*_bnb4\.onnx.*variants there: fp32, q8, q4f16/);

  assert.deepEqual(splitModelSpec('models/x?dtype=q8'), { dir: 'models/x', dtype: 'q8' });
  assert.deepEqual(splitModelSpec('models/x'), { dir: 'models/x' });
  assert.throws(() => splitModelSpec('models/x?dtype=q3'), /unknown dtype 'q3' \(expected auto, fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4\)/);
  assert.equal(parseDtype('auto', '--dtype'), 'auto');
  assert.equal(withDtype('models/x', 'q4'), 'models/x?dtype=q4');
  assert.equal(withDtype('models/x?dtype=fp16', 'q4'), 'models/x?dtype=fp16', "the spec's own choice wins");
  assert.deepEqual(parseCaptionerSpec('onnx:models/vit?dtype=fp16'), { kind: 'onnx', dir: 'models/vit', dtype: 'fp16' });
  assert.throws(() => parseCaptionerSpec('models/cnn-lstm?dtype=q8'), /a CNN→LSTM model has one set of weights/);
});

test('the worker clients and the summarize command load the variant that a spec or --dtype names', async () => {
  const frame = picture();
  const inProcess = await ImageSeq2Seq.open(vit.dir, { dtype: 'q4' });
  const captioner = await CaptionerClient.start(`onnx:${vit.dir}?dtype=q4`);
  try {
    assert.equal(captioner.info.backend, 'onnxruntime (cpu, q4)');
    assert.equal((await captioner.caption(frame)).text, (await inProcess.caption(frame)).text);
  } finally {
    await captioner.close();
    await inProcess.release();
  }
  const summarizer = await SummarizerClient.start(`${bart.dir}?dtype=int8`);
  try {
    assert.equal(summarizer.dtype, 'int8');
  } finally {
    await summarizer.close();
  }

  const text = 'a large red star on the grass\na blue circle in the sky\n';
  const summarize = async (model: string, ...flags: string[]) => {
    const child = execFile(process.execPath, [join(PROJECT_ROOT, 'bin', 'livecap.js'), 'summarize', '--model', model, '--json', ...flags]);
    child.stdin!.end(text);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const code = await new Promise((ok) => child.on('close', ok));
    return { code, out };
  };
  const ours = await TextSeq2Seq.open(bart.dir, { dtype: 'uint8' });
  try {
    const want = (await ours.generate('a large red star on the grass. a blue circle in the sky.')).text;
    const { code, out } = await summarize(bart.dir, '--dtype', 'uint8');
    assert.equal(code, 0);
    assert.equal(JSON.parse(out).summary, want);
  } finally {
    await ours.release();
  }
  const withoutBnb4 = await mkdtemp(join(tmpdir(), 'livecap-variants-'));
  made.push(withoutBnb4);
  await cp(bart.dir, withoutBnb4, { recursive: true });
  for (const name of readdirSync(join(withoutBnb4, 'onnx'))) if (name.includes('_bnb4')) await rm(join(withoutBnb4, 'onnx', name));
  assert.notEqual((await summarize(withoutBnb4, '--dtype', 'bnb4')).code, 0, 'a variant that is not there fails');
});

test('an fp16 export whose inputs and outputs are float16 too (key/value cache, logits) runs, with the tokens transformers.js gets', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-fp16-io-'));
  made.push(dir);
  await cp(bart.dir, dir, { recursive: true });
  for (const [name, bytes] of Object.entries(exportBartOnnx(bart.config, bart.weights, 'merged', 'fp16', { halfIo: true }))) await writeFile(join(dir, 'onnx', name), bytes);
  const id = localId(dir);
  const tokenizer = await AutoTokenizer.from_pretrained(id);
  const oracle = (await AutoModelForSeq2SeqLM.from_pretrained(id, { dtype: 'fp16' })) as unknown as OracleModel & { sessions: Record<string, { inputMetadata: { name: string; type?: string }[] }> };
  const ours = await TextSeq2Seq.open(dir, { dtype: 'fp16' });
  try {
    const types = new Map(oracle.sessions.decoder_model_merged!.inputMetadata.map((m) => [m.name, m.type]));
    assert.equal(types.get('encoder_hidden_states'), 'float16');
    assert.equal(types.get('past_key_values.0.decoder.key'), 'float16');
    for (const text of TEXTS) {
      const input_ids = (tokenizer(text) as { input_ids: Tensor }).input_ids;
      const attention_mask = new Tensor('int64', new BigInt64Array(input_ids.dims[1]!).fill(1n), input_ids.dims);
      const theirs = (await oracle.generate({ input_ids, attention_mask, num_beams: 1 })).tolist()[0]!.map(Number).slice(1);
      assert.deepEqual((await ours.generate(text, { numBeams: 1 })).tokens, theirs, text);
    }
  } finally {
    await oracle.dispose();
    await ours.release();
  }
});

test('serve --dtype applies to the ONNX captioners and summarizer that name no variant of their own', async () => {
  // Copies without the q4 files: --dtype q4 must fail on them, and a spec's own choice must win.
  const copies: string[] = [];
  for (const from of [bart.dir, vit.dir]) {
    const to = await mkdtemp(join(tmpdir(), 'livecap-no-q4-'));
    made.push(to);
    await cp(from, to, { recursive: true });
    for (const name of readdirSync(join(to, 'onnx'))) if (name.includes('_q4.')) await rm(join(to, 'onnx', name));
    copies.push(to);
  }
  const [summarizerDir, captionerDir] = copies as [string, string];
  const serve = (...args: string[]) => livecap(['serve', '--port', '0', '--history', ':memory:', '--source', 'bars=testsrc://smptebars', ...args]);
  let p: LivecapProcess | undefined;
  try {
    p = serve('--summarizer', summarizerDir, '--captioner', `bars=onnx:${captionerDir}`, '--dtype', 'q4');
    const { code } = await p.exited;
    assert.equal(code, 1, p.stderr());
    assert.match(p.stderr(), /has no q4 variant/);
    assert.ok(p.stderr().includes(summarizerDir), 'the summarizer, loaded first, is named');

    p = serve('--summarizer', `${summarizerDir}?dtype=q8`, '--captioner', `bars=onnx:${captionerDir}?dtype=fp16`, '--dtype', 'q4');
    const url = await p.url();
    const { streams } = (await (await fetch(`${url}/api/streams`)).json()) as { streams: { id: string; captioner: string }[] };
    assert.equal(streams.find((s) => s.id === 'bars')?.captioner, `onnx:${captionerDir}?dtype=fp16`, 'the stream names its captioner as it was given');
    p.child.kill('SIGTERM');
    assert.equal((await p.exited).code, 0, 'a clean shutdown');
  } finally {
    reap(p);
  }
});
