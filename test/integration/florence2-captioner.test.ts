/**
 * Florence-2 as a livecap captioner: task specs and config objects, the processor's prompt
 * and answer rules, folders that are not complete Florence-2 exports refused with the reason,
 * and the worker-thread captioner (the `onnx:DIR<TASK>` spec, a Florence-2 folder named without
 * `onnx:`, a task per call) giving what the model gives in this thread.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { onnxCaptionerSpec, parseCaptionerSpec } from '../../src/models/captioner/spec.js';
import { resolveServeSettings } from '../../src/config/serve-settings.js';
import { Florence2, Florence2Tasks } from '../../src/models/seq2seq/florence2.js';
import { CaptionerClient } from '../../src/models/worker/captioner-client.js';
import { FLORENCE2_TASK_PROMPTS, makeTinyFlorence2, type TinyFlorence2 } from '../helpers/tiny-florence2.js';
import { makeTinyVitGpt2 } from '../helpers/tiny-vit-gpt2.js';
import type { Frame } from '../../src/core/frame.js';

let tiny: TinyFlorence2;
const made: string[] = [];
before(async () => {
  tiny = await makeTinyFlorence2();
  made.push(tiny.dir);
});
after(async () => {
  for (const d of made) await rm(d, { recursive: true, force: true });
});

function picture(): Frame {
  const data = new Uint8Array(48 * 40 * 3);
  for (let y = 0; y < 40; y++) for (let x = 0; x < 48; x++) data.set(x > 12 && x < 30 && y > 8 && y < 26 ? [240, 200, 30] : [x * 4, 20, y * 5], (y * 48 + x) * 3);
  return { width: 48, height: 40, data };
}

test('captioner specs name an ONNX folder and, for Florence-2, a task', () => {
  const cases: [string, ReturnType<typeof parseCaptionerSpec>][] = [
    ['onnx:models/f', { kind: 'onnx', dir: 'models/f' }],
    ['onnx:models/f<DETAILED_CAPTION>', { kind: 'onnx', dir: 'models/f', task: '<DETAILED_CAPTION>' }],
    ['onnx:/abs/dir<CAPTION>', { kind: 'onnx', dir: '/abs/dir', task: '<CAPTION>' }],
    ['onnx:models/a<b', { kind: 'onnx', dir: 'models/a<b' }],
    ['models/captioner-synth', { kind: 'cnn-lstm', dir: 'models/captioner-synth' }],
  ];
  for (const [spec, want] of cases) assert.deepEqual(parseCaptionerSpec(spec), want, spec);
  assert.throws(() => parseCaptionerSpec('onnx:<CAPTION>'), /needs a folder/);
  assert.equal(onnxCaptionerSpec('m', '<MORE_DETAILED_CAPTION>'), 'onnx:m<MORE_DETAILED_CAPTION>');
  assert.throws(() => onnxCaptionerSpec('m', 'caption'), /task must be a task token/);
});

test('a config file names a Florence-2 captioner and its task as an object; wrong ones are listed', () => {
  const s = resolveServeSettings(
    {},
    { sources: { cam1: 'rtsp://a/1' }, captioners: { cam1: { kind: 'onnx', path: 'models/f2', task: '<DETAILED_CAPTION>' } }, captioner: { kind: 'onnx', path: 'models/f2' } },
    'c.json',
    {},
  );
  assert.equal(s.captioner, 'onnx:models/f2');
  assert.deepEqual([...s.captioners], [['cam1', 'onnx:models/f2<DETAILED_CAPTION>']]);
  assert.throws(
    () => resolveServeSettings({}, { sources: { cam1: 'rtsp://a/1' }, captioners: { cam1: { kind: 'onnx', path: 'm', task: 'describe' } }, captioner: { kind: 'onnx', prompt: 'x' } }, 'c.json', {}),
    (err: Error) => /c\.json captioners\.cam1: task must be a task token/.test(err.message) && /c\.json captioner: unknown field prompt/.test(err.message),
  );
});

test("tasks become the processor's prompts; answers lose <s>, </s> and <pad>; box tasks are refused", () => {
  const tasks = new Florence2Tasks(
    {
      task_prompts_without_inputs: FLORENCE2_TASK_PROMPTS,
      task_prompts_with_input: { '<REGION_TO_DESCRIPTION>': 'What does the region {input} describe?' },
      tasks_answer_post_processing_type: { '<CAPTION>': 'pure_text', '<OD>': 'description_with_bboxes', '<REGION_TO_DESCRIPTION>': 'pure_text' },
    },
    'm/preprocessor_config.json',
  );
  assert.equal(tasks.prompt('<CAPTION>'), 'What does the image describe?');
  assert.equal(tasks.prompt('<MORE_DETAILED_CAPTION>'), 'Describe with a paragraph what is shown in the image.');
  assert.equal(tasks.prompt('<REGION_TO_DESCRIPTION><loc_1><loc_2>'), 'What does the region <loc_1><loc_2> describe?');
  assert.equal(tasks.prompt('Is anyone at the door?'), 'Is anyone at the door?');
  assert.throws(() => tasks.prompt('<OD>'), /m\/preprocessor_config\.json: task <OD> answers with description_with_bboxes, not a caption; plain-text tasks: .*<CAPTION>/);
  assert.throws(() => tasks.prompt(' '), /non-empty/);
  assert.equal(Florence2Tasks.answer('</s><s>a red car parked on the street</s><pad>'), 'a red car parked on the street');
});

test('a Florence-2 folder without its vision encoder or token embedding is refused, naming the files; a bad default task too', async () => {
  const { makeTinyBart } = await import('../helpers/tiny-bart.js');
  const bart = await makeTinyBart();
  made.push(bart.dir);
  await assert.rejects(Florence2.open(bart.dir), /missing preprocessor_config\.json, onnx\/vision_encoder\.onnx, onnx\/embed_tokens\.onnx/);
  await assert.rejects(Florence2.open(tiny.dir, { task: '<OD>' }), /task <OD> answers with description_with_bboxes/);
});

test('the worker captioner runs the spec task, a task per call, and a folder given without onnx:', async () => {
  const frame = picture();
  const local = await Florence2.open(tiny.dir);
  const want = {
    caption: (await local.caption(frame)).text,
    detailed: (await local.caption(frame, { task: '<DETAILED_CAPTION>' })).text,
    more: (await local.caption(frame, { task: '<MORE_DETAILED_CAPTION>' })).text,
  };
  await local.release();
  assert.notEqual(want.caption, want.detailed, 'the tiny model answers the tasks differently');

  const plain = await CaptionerClient.start(tiny.dir);
  const detailed = await CaptionerClient.start(`onnx:${tiny.dir}<DETAILED_CAPTION>`);
  try {
    assert.equal(plain.info.task, '<CAPTION>');
    assert.deepEqual([plain.info.inputWidth, plain.info.inputHeight], [32, 32]);
    assert.equal((await plain.caption(frame)).text, want.caption);
    assert.equal((await plain.caption(frame, { prompt: '<MORE_DETAILED_CAPTION>' })).text, want.more);
    assert.equal(detailed.info.task, '<DETAILED_CAPTION>');
    assert.equal((await detailed.caption(frame)).text, want.detailed);
    await assert.rejects(plain.caption(frame, { prompt: '<OD>' }), /task <OD> answers with description_with_bboxes/);
  } finally {
    await plain.close();
    await detailed.close();
  }
  const vit = await makeTinyVitGpt2();
  made.push(vit.dir);
  await assert.rejects(CaptionerClient.start(`onnx:${vit.dir}<CAPTION>`), /only Florence-2 exports take one/);
  await assert.rejects(CaptionerClient.start(`onnx:${join(tiny.dir, 'missing')}<CAPTION>`), /model folder not found/);
});

test('an export that sets no max_length may caption beyond Hugging Face default of 20 tokens; one that sets it is held to it', async () => {
  const open = await makeTinyFlorence2({ generation: { max_length: undefined, min_length: 25 } });
  made.push(open.dir);
  const unbounded = await Florence2.open(open.dir);
  const bounded = await Florence2.open(tiny.dir);
  try {
    assert.ok((await unbounded.caption(picture(), { numBeams: 1 })).tokens.length >= 24);
    assert.equal((await unbounded.caption(picture(), { numBeams: 1, maxLength: 12 })).tokens.length, 11);
    assert.ok((await bounded.caption(picture(), { numBeams: 1, minLength: 25 })).tokens.length <= 19);
    await assert.rejects(bounded.caption(picture(), { task: 'why '.repeat(60) }), /the prompt is too long: 16 image tokens and \d+ prompt tokens, the encoder has 96 positions/);
  } finally {
    await unbounded.release();
    await bounded.release();
  }
});
