/**
 * `livecap models pull` against a hub on 127.0.0.1 that serves the Hugging Face URL layout:
 * the pulled folder runs, a broken download resumes, a corrupt file is refused, and being
 * offline, an unknown model or a model without an ONNX export each give a clear error. From a
 * repository that holds several variants (fp32, fp16, q8, q4), only the chosen one is fetched.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pullModel } from '../../src/models/hub/pull.js';
import { TextSeq2Seq } from '../../src/models/seq2seq/text-seq2seq.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { makeTinyBart, type TinyBart } from '../helpers/tiny-bart.js';
import { makeTinyFlorence2 } from '../helpers/tiny-florence2.js';
import { Florence2 } from '../../src/models/seq2seq/florence2.js';
import { startLocalHub, type LocalHub } from '../helpers/local-hub.js';

const REPO = 'test-org/tiny-bart';
const VARIANTS_REPO = 'test-org/tiny-bart-variants';
const ENCODER = 'onnx/encoder_model.onnx';
let tiny: TinyBart;
let variants: TinyBart;
let hub: LocalHub;

before(async () => {
  tiny = await makeTinyBart();
  variants = await makeTinyBart({ variants: ['fp16', 'q8', 'q4'] });
  const noOnnx = await mkdtemp(join(tmpdir(), 'livecap-no-onnx-'));
  hub = await startLocalHub(
    { [REPO]: tiny.dir, 'test-org/pytorch-only': noOnnx, [VARIANTS_REPO]: variants.dir },
    {
      // External data beside a model (what exports over 2 GB have) goes with its variant.
      [VARIANTS_REPO]: { 'onnx/decoder_model_merged_q4.onnx_data': Buffer.alloc(512, 3), 'onnx/decoder_model_merged_fp16.onnx_data': Buffer.alloc(512, 4) },
      [REPO]: { 'pytorch_model.bin': Buffer.alloc(4096, 7), 'onnx/encoder_model_quantized.onnx': Buffer.alloc(2048, 1), 'README.md': Buffer.from('# tiny\n') },
      'test-org/pytorch-only': { 'config.json': Buffer.from('{}'), 'pytorch_model.bin': Buffer.alloc(100) },
    },
  );
});
after(() => hub.close());

const freshDir = () => mkdtemp(join(tmpdir(), 'livecap-models-'));
const pull = (modelsDir: string, repo = REPO) => pullModel(repo, { modelsDir, endpoint: hub.endpoint });

test('the command downloads the files the engine runs, with progress, and the model generates as the original does', async () => {
  const modelsDir = await freshDir();
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(PROJECT_ROOT, 'bin', 'livecap.js'), 'models', 'pull', REPO, '--endpoint', hub.endpoint, '--models-dir', modelsDir]);
  const dir = join(modelsDir, 'test-org', 'tiny-bart');
  assert.match(stderr, new RegExp(`${ENCODER} \\[#+\\] [\\d.]+ kB/[\\d.]+ kB`), 'a progress bar in bytes');
  assert.match(stdout, new RegExp(`downloaded .*${ENCODER}`));
  assert.match(stdout, /is in .*tiny-bart/);
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', ENCODER, 'onnx/decoder_model_merged.onnx']) {
    assert.deepEqual(readFileSync(join(dir, f)), readFileSync(join(tiny.dir, f)), f);
  }
  for (const f of ['pytorch_model.bin', 'onnx/encoder_model_quantized.onnx', 'README.md']) assert.ok(!existsSync(join(dir, f)), `${f} is not needed and not fetched`);

  const input = 'a red circle on the grass. a large blue star in the sky on the left.';
  const [original, pulled] = [await TextSeq2Seq.open(tiny.dir), await TextSeq2Seq.open(dir)];
  try {
    assert.deepEqual((await pulled.generate(input, { numBeams: 2 })).tokens, (await original.generate(input, { numBeams: 2 })).tokens);
  } finally {
    await original.release();
    await pulled.release();
  }

  // Pulling again fetches nothing.
  const before = hub.requests.length;
  const again = await pull(modelsDir);
  assert.ok(again.files.every((f) => f.status === 'up to date'));
  assert.equal(hub.requests.length, before);
});

test('a download that broke off resumes from the bytes already on disk', async () => {
  const modelsDir = await freshDir();
  const dest = join(modelsDir, 'test-org', 'tiny-bart', ENCODER);
  const size = statSync(join(tiny.dir, ENCODER)).size;
  hub.breakOnce.set(ENCODER, 1000);
  const broken = pull(modelsDir);
  // The connection is cut once the first 1,000 bytes are on disk.
  for (const deadline = Date.now() + 20_000; !(existsSync(`${dest}.incomplete`) && statSync(`${dest}.incomplete`).size >= 1000); ) {
    assert.ok(Date.now() < deadline, 'the first 1,000 bytes never reached the disk');
    await new Promise((r) => setTimeout(r, 20));
  }
  hub.cutHeld();
  await assert.rejects(broken, new RegExp(`${ENCODER}: the download broke off at 1000 of ${size} bytes .*run the command again to resume`));
  assert.equal(statSync(`${dest}.incomplete`).size, 1000);
  assert.ok(!existsSync(dest), 'a partial file never takes the real name');

  const result = await pull(modelsDir);
  assert.equal(result.files.find((f) => f.path === ENCODER)?.status, 'resumed');
  assert.equal(hub.requests.filter((r) => r.path === ENCODER).at(-1)?.range, 'bytes=1000-');
  assert.deepEqual(readFileSync(dest), readFileSync(join(tiny.dir, ENCODER)));
  assert.ok(!existsSync(`${dest}.incomplete`));
});

test('a file whose hash does not match the listing is refused and removed', async () => {
  for (const [file, kind] of [
    [ENCODER, 'sha256'],
    ['tokenizer.json', 'git sha1'],
  ] as const) {
    const modelsDir = await freshDir();
    hub.corrupt.add(file);
    try {
      await assert.rejects(pull(modelsDir), new RegExp(`${file.replace('.', '\\.')}: ${kind} [0-9a-f]+ does not match the hub's [0-9a-f]+; the download was removed`));
    } finally {
      hub.corrupt.delete(file);
    }
    const dest = join(modelsDir, 'test-org', 'tiny-bart', file);
    assert.ok(!existsSync(dest) && !existsSync(`${dest}.incomplete`), `nothing of the corrupt ${file} is kept`);
  }
});

test('offline, unknown models, bad names and repositories without ONNX give clear errors', async () => {
  const modelsDir = await freshDir();
  const closed = await new Promise<number>((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
  await assert.rejects(
    pullModel(REPO, { modelsDir, endpoint: `http://127.0.0.1:${closed}` }),
    /cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): downloading models needs a network connection/,
  );
  await assert.rejects(pull(modelsDir, 'test-org/no-such-model'), /test-org\/no-such-model: not found on http:\/\/127\.0\.0\.1/);
  await assert.rejects(pull(modelsDir, '../../etc'), /'\.\.\/\.\.\/etc' is not a model name on the hub: expected OWNER\/NAME/);
  await assert.rejects(pull(modelsDir, 'test-org/pytorch-only'), /test-org\/pytorch-only has no ONNX export that livecap can run: missing onnx\/encoder_model\.onnx, onnx\/decoder_model_merged\.onnx/);
});

test('a Florence-2 export is pulled with its vision encoder and token embedding, and captions as the original does', async () => {
  const florence = await makeTinyFlorence2();
  const repo = 'test-org/tiny-florence2';
  const florenceHub = await startLocalHub({ [repo]: florence.dir }, { [repo]: { 'onnx/vision_encoder_q4.onnx': Buffer.alloc(512, 3), 'onnx/embed_tokens_fp16.onnx': Buffer.alloc(512, 4) } });
  try {
    const modelsDir = await freshDir();
    const result = await pullModel(repo, { modelsDir, endpoint: florenceHub.endpoint });
    const fetched = result.files.map((f) => f.path).sort();
    assert.deepEqual(fetched, [
      'config.json',
      'generation_config.json',
      'onnx/decoder_model_merged.onnx',
      'onnx/embed_tokens.onnx',
      'onnx/encoder_model.onnx',
      'onnx/vision_encoder.onnx',
      'preprocessor_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    const frame = { width: 32, height: 32, data: Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * 37) % 256) };
    const [original, pulled] = [await Florence2.open(florence.dir), await Florence2.open(result.dir)];
    try {
      assert.deepEqual((await pulled.caption(frame, { task: '<DETAILED_CAPTION>' })).tokens, (await original.caption(frame, { task: '<DETAILED_CAPTION>' })).tokens);
    } finally {
      await original.release();
      await pulled.release();
    }
  } finally {
    await florenceHub.close();
    await rm(florence.dir, { recursive: true, force: true });
  }
});

const CONFIG = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'];

/** The paths a pull fetched from the hub, sorted. */
async function fetched(run: () => Promise<unknown>): Promise<string[]> {
  const from = hub.requests.length;
  await run();
  return hub.requests
    .slice(from)
    .map((r) => r.path)
    .sort();
}

test('--dtype q8 fetches only the q8 files of a repository that has several variants, and they run as q8', async () => {
  const modelsDir = await freshDir();
  let stdout = '';
  const paths = await fetched(async () => {
    ({ stdout } = await promisify(execFile)(process.execPath, [
      join(PROJECT_ROOT, 'bin', 'livecap.js'),
      'models',
      'pull',
      VARIANTS_REPO,
      '--dtype',
      'q8',
      '--endpoint',
      hub.endpoint,
      '--models-dir',
      modelsDir,
    ]));
  });
  assert.deepEqual(paths, [...CONFIG, 'onnx/decoder_model_merged_quantized.onnx', 'onnx/encoder_model_quantized.onnx'].sort());
  assert.match(stdout, /tiny-bart-variants \(q8\) is in /);

  // The folder holds q8 only, so auto runs q8 too; the tokens are those of the original's q8 files.
  const dir = join(modelsDir, 'test-org', 'tiny-bart-variants');
  const input = 'a red circle on the grass. a large blue star in the sky on the left.';
  const [original, pulled] = [await TextSeq2Seq.open(variants.dir, { dtype: 'q8' }), await TextSeq2Seq.open(dir)];
  try {
    assert.equal(pulled.dtype, 'q8');
    assert.deepEqual((await pulled.generate(input, { numBeams: 2 })).tokens, (await original.generate(input, { numBeams: 2 })).tokens);
  } finally {
    await original.release();
    await pulled.release();
  }
});

test('without --dtype only the fp32 files are fetched; a variant brings its external data files; a missing variant names those there', async () => {
  assert.deepEqual(await fetched(async () => pull(await freshDir(), VARIANTS_REPO)), [...CONFIG, 'onnx/decoder_model_merged.onnx', 'onnx/encoder_model.onnx'].sort());
  const q4 = await fetched(async () => {
    const result = await pullModel(VARIANTS_REPO, { modelsDir: await freshDir(), endpoint: hub.endpoint, dtype: 'q4' });
    assert.equal(result.dtype, 'q4');
  });
  assert.deepEqual(q4, [...CONFIG, 'onnx/decoder_model_merged_q4.onnx', 'onnx/decoder_model_merged_q4.onnx_data', 'onnx/encoder_model_q4.onnx'].sort());

  const before = hub.requests.length;
  await assert.rejects(
    pullModel(VARIANTS_REPO, { modelsDir: await freshDir(), endpoint: hub.endpoint, dtype: 'int8' }),
    (err: Error) =>
      /test-org\/tiny-bart-variants has no int8 variant \(it needs onnx\/encoder_model_int8\.onnx/.test(err.message) &&
      /variants there: fp32, q8, fp16, q4;/.test(err.message) &&
      err.message.includes('onnx/encoder_model_q4.onnx') &&
      !/livecap models pull --dtype/.test(err.message),
  );
  assert.equal(hub.requests.length, before, 'nothing is downloaded for a variant that is not there');
});
