/**
 * A trained captioner saved to another folder and loaded again gives the same captions, in this
 * thread and in a captioner worker thread (which loads it with its own TensorFlow.js).
 */
import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CnnLstmCaptioner } from '../../src/models/captioner/captioner.js';
import { CaptionerClient } from '../../src/models/worker/captioner-client.js';
import type { Frame } from '../../src/core/frame.js';
import type { Tf } from '../../src/models/tfjs/tf.js';

export async function assertSaveLoadRoundTrip(tf: Tf, modelDir: string, copy: string, images: Frame[], decoderKind: 'attention' | 'layers'): Promise<void> {
  const a = await CnnLstmCaptioner.load(tf, modelDir);
  assert.ok(decoderKind === 'attention' ? a.attention : a.decoder, `a ${decoderKind} decoder`);
  const before = await a.captionAll(images, { beamWidth: 3 });
  await a.saveWeights(copy);
  a.dispose();
  await cp(join(modelDir, 'vocab.json'), join(copy, 'vocab.json'));
  await writeFile(join(copy, 'captioner.json'), await readFile(join(modelDir, 'captioner.json')));
  const b = await CnnLstmCaptioner.load(tf, copy);
  assert.deepEqual(await b.captionAll(images, { beamWidth: 3 }), before);
  b.dispose();
  const worker = await CaptionerClient.start(copy, 'wasm');
  try {
    assert.deepEqual(await worker.captionAll(images, { beamWidth: 3 }), before);
  } finally {
    await worker.close();
    await worker.close();
  }
}

/** Every word of a caption is one of the captioner's own. */
export function assertKnownWords(captioner: CnnLstmCaptioner, text: string): void {
  const unknown = text.split(' ').filter((w) => w && !captioner.vocabulary.has(w));
  assert.deepEqual(unknown, [], `"${text}" has words not in the vocabulary`);
}
