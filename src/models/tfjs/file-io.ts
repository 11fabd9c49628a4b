/**
 * Reading and writing TensorFlow.js layers models (model.json + binary weight shards, as
 * `tensorflowjs_converter` and `model.save` write them) from plain Node, without tfjs-node's
 * file:// handler. Every missing or short file is reported by its path.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import type { io } from '@tensorflow/tfjs';
import { readJsonFile } from '../../util/json-file.js';
import type { Tf } from './tf.js';

interface ModelJson {
  modelTopology?: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest?: { paths: string[]; weights: io.WeightsManifestEntry[] }[];
  trainingConfig?: unknown;
  userDefinedMetadata?: Record<string, object>;
}

function dtypeBytes(dtype: string): number {
  return dtype === 'float16' ? 2 : dtype === 'uint8' || dtype === 'bool' ? 1 : dtype === 'int16' ? 2 : 4;
}

function specBytes(spec: io.WeightsManifestEntry): number {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  return count * dtypeBytes(spec.quantization?.dtype ?? spec.dtype);
}

/** Reads model.json and its shards into tfjs' in-memory artifacts. */
export async function readModelArtifacts(modelJsonPath: string): Promise<io.ModelArtifacts> {
  const json = (await readJsonFile(modelJsonPath, 'model file')) as ModelJson;
  if (!json.modelTopology) throw new Error(`${modelJsonPath}: no modelTopology: not a TensorFlow.js layers model`);
  if (json.format && json.format !== 'layers-model') {
    throw new Error(`${modelJsonPath}: format is '${json.format}', expected 'layers-model' (convert Keras models with --output_format=tfjs_layers_model)`);
  }
  const specs: io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest ?? []) {
    const groupBuffers: Uint8Array[] = [];
    for (const shard of group.paths) {
      const shardPath = join(dirname(modelJsonPath), shard);
      try {
        groupBuffers.push(await readFile(shardPath));
      } catch (err) {
        throw new Error(`${shardPath}: weight shard named by ${basename(modelJsonPath)} is missing or unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
    }
    const expected = group.weights.reduce((n, w) => n + specBytes(w), 0);
    const got = groupBuffers.reduce((n, b) => n + b.length, 0);
    if (got < expected) {
      throw new Error(`${join(dirname(modelJsonPath), group.paths.join(', '))}: weight shards hold ${got} bytes but ${basename(modelJsonPath)} describes ${expected}`);
    }
    specs.push(...group.weights);
    buffers.push(...groupBuffers);
  }
  const total = buffers.reduce((n, b) => n + b.length, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    weightData.set(b, offset);
    offset += b.length;
  }
  return {
    modelTopology: json.modelTopology as io.ModelArtifacts['modelTopology'],
    weightSpecs: specs,
    weightData: weightData.buffer,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
    trainingConfig: json.trainingConfig as io.ModelArtifacts['trainingConfig'],
    userDefinedMetadata: json.userDefinedMetadata,
  };
}

/** Loads a layers model from a model.json path. */
export async function loadLayersModel(tf: Tf, modelJsonPath: string) {
  const artifacts = await readModelArtifacts(modelJsonPath);
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    throw new Error(`${modelJsonPath}: cannot build the model (${(err as Error).message.split('\n')[0]})`);
  }
}

/** A save handler writing `dir/model.json` and one shard `dir/weights.bin`. */
export function fileSaveHandler(tf: Tf, dir: string): io.IOHandler {
  return tf.io.withSaveHandler(async (artifacts) => {
    await mkdir(dir, { recursive: true });
    const data = artifacts.weightData;
    const bytes = data === undefined ? new Uint8Array(0) : Array.isArray(data) ? concatBuffers(data) : new Uint8Array(data);
    const modelJson: ModelJson = {
      modelTopology: artifacts.modelTopology,
      format: 'layers-model',
      generatedBy: artifacts.generatedBy,
      convertedBy: null,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      userDefinedMetadata: artifacts.userDefinedMetadata,
    };
    await writeFile(join(dir, 'weights.bin'), bytes);
    await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.length } };
  });
}

function concatBuffers(parts: ArrayBuffer[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), o);
    o += p.byteLength;
  }
  return out;
}
