/**
 * Training checkpoints: model weights, optimizer state and progress, written after every
 * epoch so an interrupted `livecap train` resumes where it stopped.
 */
import { readFile, writeFile, mkdir, rename } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LayersModel, Optimizer } from '@tensorflow/tfjs';
import { fileSaveHandler, readModelArtifacts } from '../models/tfjs/file-io.js';
import { AttentionDecoder, ATTENTION_FILE } from '../models/captioner/attention.js';
import type { Tf } from '../models/tfjs/tf.js';

/** Saves the optimizer's slots (Adam moments, iteration count) as a weights file. */
export async function saveOptimizer(tf: Tf, optimizer: Optimizer, dir: string): Promise<void> {
  const named = await optimizer.getWeights();
  const { data, specs } = await tf.io.encodeWeights(named);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'optimizer.bin'), new Uint8Array(data));
  await writeFile(join(dir, 'optimizer.json'), JSON.stringify(specs));
}

export async function restoreOptimizer(tf: Tf, optimizer: Optimizer, dir: string): Promise<void> {
  const specs = JSON.parse(await readFile(join(dir, 'optimizer.json'), 'utf8'));
  const data = await readFile(join(dir, 'optimizer.bin'));
  const map = tf.io.decodeWeights(new Uint8Array(data).buffer, specs);
  await optimizer.setWeights(specs.map((s: { name: string }) => ({ name: s.name, tensor: map[s.name] })));
}

/** Saves a model's weights and its optimizer under dir, replacing the previous checkpoint atomically. */
export async function saveTrainingState(tf: Tf, model: LayersModel, optimizer: Optimizer, dir: string): Promise<void> {
  const tmp = `${dir}.tmp`;
  await model.save(fileSaveHandler(tf, tmp));
  await saveOptimizer(tf, optimizer, tmp);
  const { rm } = await import('node:fs/promises');
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

/** Loads weights saved by saveTrainingState into an already built model of the same architecture. */
export async function restoreTrainingState(tf: Tf, model: LayersModel, optimizer: Optimizer, dir: string): Promise<void> {
  const artifacts = await readModelArtifacts(join(dir, 'model.json'));
  const map = tf.io.decodeWeights(artifacts.weightData as ArrayBuffer, artifacts.weightSpecs!);
  // Weights are saved in model.weights order; assign by position (layer variable names can get
  // numeric suffixes that differ between processes).
  const values = artifacts.weightSpecs!.map((s) => map[s.name]);
  if (values.length !== model.weights.length) throw new Error(`${dir}: checkpoint holds ${values.length} weights, the model has ${model.weights.length}`);
  model.setWeights(values);
  tf.dispose(values);
  await restoreOptimizer(tf, optimizer, dir);
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'model.json')) && existsSync(join(dir, 'optimizer.json'));
}

/**
 * Checkpoint of training with an attention decoder: its weights under DIR/attention/, the
 * backbone being fine-tuned with it (if any) as DIR/model.json, and the optimizer; replaced
 * atomically like saveTrainingState.
 */
export async function saveAttentionState(tf: Tf, decoder: AttentionDecoder, backbone: LayersModel | undefined, optimizer: Optimizer, dir: string): Promise<void> {
  const { rm } = await import('node:fs/promises');
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  if (backbone) await backbone.save(fileSaveHandler(tf, tmp));
  await decoder.save(join(tmp, 'attention'));
  await saveOptimizer(tf, optimizer, tmp);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

export async function restoreAttentionState(tf: Tf, decoder: AttentionDecoder, backbone: LayersModel | undefined, optimizer: Optimizer, dir: string): Promise<void> {
  if (backbone) {
    const artifacts = await readModelArtifacts(join(dir, 'model.json'));
    const map = tf.io.decodeWeights(artifacts.weightData as ArrayBuffer, artifacts.weightSpecs!);
    const values = artifacts.weightSpecs!.map((s) => map[s.name]);
    if (values.length !== backbone.weights.length) throw new Error(`${dir}: checkpoint holds ${values.length} backbone weights, the backbone has ${backbone.weights.length}`);
    backbone.setWeights(values);
    tf.dispose(values);
  }
  const saved = await AttentionDecoder.load(tf, join(dir, 'attention', ATTENTION_FILE));
  try {
    decoder.assignFrom(saved, join(dir, 'attention'));
  } finally {
    saved.dispose();
  }
  await restoreOptimizer(tf, optimizer, dir);
}

export function hasAttentionCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'attention', ATTENTION_FILE)) && existsSync(join(dir, 'optimizer.json'));
}
