/**
 * The shipped summarizer (models/summarizer-synth): a small BART in the Hugging Face ONNX
 * layout, loaded by the same engine as any export, that summarizes held-out caption windows
 * of the synthetic world, and that `livecap summarize` and `livecap serve` use by default.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TextSeq2Seq } from '../../src/models/seq2seq/text-seq2seq.js';
import { evaluateSummarizer } from '../../src/train/summarizer/evaluate-summarizer.js';
import { contentWords } from '../../src/synth/grammar.js';
import { EMBEDDED_SUMMARIZER, PROJECT_ROOT } from '../../src/paths.js';

function folderBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? folderBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0);
}

test('the embedded summarizer is a small BART export with a merged key/value-cache decoder', () => {
  const config = JSON.parse(readFileSync(join(EMBEDDED_SUMMARIZER, 'config.json'), 'utf8'));
  assert.equal(config.model_type, 'bart');
  statSync(join(EMBEDDED_SUMMARIZER, 'onnx', 'decoder_model_merged.onnx'));
  assert.ok(folderBytes(EMBEDDED_SUMMARIZER) < 15e6, 'under 15 MB');
});

test('it names the scenes of held-out synthetic videos in order', async () => {
  const model = await TextSeq2Seq.open(EMBEDDED_SUMMARIZER);
  try {
    const report = await evaluateSummarizer(model, { videos: 6, seed: 770001, windowSeconds: 20, hopSeconds: 10, videoSeconds: 30 });
    assert.equal(report.windows, 12);
    assert.ok(report.rougeL >= 0.75, `ROUGE-L ${report.rougeL}`);
    assert.ok(report.contentF1 >= 0.7, `colour/shape words F1 ${report.contentF1}`);
    for (const s of report.samples) assert.match(s.summary, /^the video shows /);
  } finally {
    await model.release();
  }
});

test('livecap summarize uses it by default', async () => {
  const child = promisify(execFile)(process.execPath, [join(PROJECT_ROOT, 'bin', 'livecap.js'), 'summarize', '--json']);
  child.child.stdin!.end('a large red circle on the grass in the middle\na large red circle on the grass in the middle.\nthree small blue stars up in the sky\n');
  const out = JSON.parse((await child).stdout.trim().split('\n').at(-1)!);
  assert.equal(out.captions, 2, 'the repeat was collapsed');
  const words = contentWords(out.summary);
  assert.deepEqual(words.colours, ['red', 'blue'], out.summary);
  assert.deepEqual(words.shapes, ['circle', 'star'], out.summary);
});
