/**
 * The one place that touches onnxruntime-node: opening sessions on the best execution provider
 * that works, running them, releasing them. Everything else uses the small types below, so no
 * onnxruntime type leaks into the rest of livecap.
 *
 * Provider order (LIVECAP_ONNX_PROVIDER=auto, the default):
 *   1. CUDA, when its provider library is installed (`npm install` with
 *      `--onnxruntime-node-install=cuda12`; the default install skips the download)
 *   2. CPU
 * WebGPU (bundled with onnxruntime-node) runs only when asked for: measured on an H100
 * (bench/RESULTS.md, `livecap bench providers`), every decoder step pays for its host↔GPU
 * copies and ~100 small dispatches, so captions took 3× (a Florence-2-base-sized model) to 50×
 * (the tiny test exports) as long as on the CPU provider.
 * Each provider is tried once per thread on a one-node model, so a provider that is missing or
 * broken is passed over with a log line (never a crash), and a model is then opened once, on the
 * first provider that works. `cuda`, `webgpu` or `cpu` asks for exactly that provider.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { log } from '../../util/log.js';
import { fromFloat16, toFloat16 } from './float16.js';
import { encodeModel, Graph } from './onnx-graph.js';

export type ExecutionProvider = 'cuda' | 'webgpu' | 'cpu';
export type ProviderPreference = 'auto' | ExecutionProvider;

/** A tensor as livecap passes it around: element type, flat data, dimensions. */
export type OnnxTensor =
  | { type: 'float32'; data: Float32Array; dims: readonly number[] }
  | { type: 'int64'; data: BigInt64Array; dims: readonly number[] }
  | { type: 'bool'; data: Uint8Array; dims: readonly number[] };

export interface OnnxSession {
  readonly path: string;
  readonly provider: ExecutionProvider;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Each tensor input's declared shape: numbers where fixed, names where symbolic. */
  readonly inputDims: Readonly<Record<string, readonly (number | string)[]>>;
  /** Runs the model; only the outputs named in `fetch` (default: all) are returned. */
  run(feeds: Record<string, OnnxTensor>, fetch?: readonly string[]): Promise<Record<string, OnnxTensor>>;
  /** Frees the native session. Safe to call twice. */
  release(): Promise<void>;
}

type Ort = typeof import('onnxruntime-node');
const require = createRequire(import.meta.url);
let ort: Ort | undefined;
/** The probe's answer per preference: each is probed once per thread. */
const providers = new Map<ProviderPreference, Promise<ExecutionProvider[]>>();

function loadOrt(): Ort {
  ort ??= require('onnxruntime-node') as Ort;
  return ort;
}

function envPreference(): ProviderPreference {
  const value = (process.env.LIVECAP_ONNX_PROVIDER ?? 'auto').toLowerCase();
  if (value === 'auto' || value === 'cuda' || value === 'webgpu' || value === 'cpu') return value;
  throw new Error(`LIVECAP_ONNX_PROVIDER must be auto, cuda, webgpu or cpu, got '${value}'`);
}

/**
 * LIVECAP_ONNX_THREADS: threads one model's session runs an operator on (default: onnxruntime's,
 * one per core). Several processes on one machine (cluster workers) each set it to their share.
 */
function envThreads(): number | undefined {
  const value = process.env.LIVECAP_ONNX_THREADS;
  if (value === undefined || value === '') return undefined;
  const threads = Number(value);
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw new Error(`LIVECAP_ONNX_THREADS must be a whole number of threads from 1 to 256, got '${value}'`);
  return threads;
}

/** The CUDA provider is a separate library that the default install does not download. */
function cudaInstalled(): boolean {
  const binding = require.resolve('onnxruntime-node');
  const root = join(dirname(binding), '..');
  return existsSync(join(root, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));
}

let probeModel: Uint8Array | undefined;
function tinyModel(): Uint8Array {
  if (!probeModel) {
    const g = new Graph('probe');
    const x = g.input('x', 'float32', [2]);
    g.output(g.op('Add', [x, x]), 'y', 'float32', [2]);
    probeModel = encodeModel(g);
  }
  return probeModel;
}

/**
 * On Linux a GPU shows up as a device node; without one, WebGPU cannot find an adapter, and
 * trying anyway only fills stderr with the graphics stack's complaints.
 */
function gpuDeviceVisible(): boolean {
  if (process.platform !== 'linux') return true;
  try {
    return readdirSync('/dev/dri').some((n) => n.startsWith('renderD')) || existsSync('/dev/nvidia0');
  } catch {
    return existsSync('/dev/nvidia0');
  }
}

/** The useful sentence of a native error (they start with a source path and a line). */
function reasonOf(err: unknown): string {
  const message = (err as Error).message.split('\n')[0]!;
  const failed = message.indexOf('Failed to');
  return (failed >= 0 ? message.slice(failed) : message.replace(/^.*\] /, '')).slice(0, 200);
}

async function probe(provider: ExecutionProvider): Promise<string | undefined> {
  if (provider === 'cuda' && !cudaInstalled()) return 'not installed (install with --onnxruntime-node-install=cuda12)';
  if (provider === 'webgpu' && !gpuDeviceVisible()) return 'no GPU device found';
  const { InferenceSession, Tensor } = loadOrt();
  try {
    const session = await InferenceSession.create(tinyModel(), { executionProviders: [provider], logSeverityLevel: 4 });
    try {
      await session.run({ x: new Tensor('float32', new Float32Array([1, 2]), [2]) });
    } finally {
      await session.release();
    }
    return undefined;
  } catch (err) {
    return reasonOf(err);
  }
}

/** The providers that work here, best first; probed once per thread and preference. */
export function usableProviders(preference: ProviderPreference = envPreference()): Promise<ExecutionProvider[]> {
  const known = providers.get(preference);
  if (known !== undefined) return known;
  const probed = (async () => {
    const candidates: ExecutionProvider[] = preference === 'auto' ? ['cuda', 'cpu'] : [preference];
    const usable: ExecutionProvider[] = [];
    for (const provider of candidates) {
      const reason = await probe(provider);
      if (reason === undefined) usable.push(provider);
      else if (preference === 'auto') log.info('onnx execution provider passed over', { provider, reason });
      else throw new Error(`the ${provider} execution provider was asked for but it does not work here: ${reason}`);
    }
    log.info('onnx execution provider chosen', { provider: usable[0], fallbacks: usable.slice(1).join(',') || undefined });
    return usable;
  })();
  providers.set(preference, probed);
  return probed;
}

/**
 * livecap's tensor as onnxruntime's; a float32 tensor fed to an input declared float16 (an
 * fp16 export whose inputs stayed float16, such as its key/value cache) is converted here.
 */
function toOrt(t: OnnxTensor, declared: string | undefined) {
  const { Tensor } = loadOrt();
  if (declared === 'float16' && t.type === 'float32') return new Tensor('float16', toFloat16(t.data), [...t.dims]);
  return new Tensor(t.type, t.data, [...t.dims]);
}

/** onnxruntime's tensor as livecap's; float16 outputs (fp16 exports) come back as float32. */
function fromOrt(t: { type: string; data: unknown; dims: readonly number[] }, name: string): OnnxTensor {
  if (t.type === 'float32') return { type: 'float32', data: t.data as Float32Array, dims: t.dims };
  if (t.type === 'float16') return { type: 'float32', data: fromFloat16(t.data as Uint16Array), dims: t.dims };
  if (t.type === 'int64') return { type: 'int64', data: t.data as BigInt64Array, dims: t.dims };
  if (t.type === 'bool') return { type: 'bool', data: t.data as Uint8Array, dims: t.dims };
  throw new Error(`output '${name}' has element type ${t.type}, which livecap does not read`);
}

/**
 * Opens a model file on the first usable provider, falling back to the next one if the model
 * itself fails to load there. Throws an error naming the file if no provider can open it.
 */
export async function openSession(path: string, preference?: ProviderPreference): Promise<OnnxSession> {
  if (!existsSync(path)) throw new Error(`model file not found: ${path}`);
  const { InferenceSession } = loadOrt();
  const failures: string[] = [];
  const threads = envThreads();
  for (const provider of await usableProviders(preference)) {
    let session: Awaited<ReturnType<typeof InferenceSession.create>>;
    try {
      session = await InferenceSession.create(path, {
        executionProviders: [provider],
        logSeverityLevel: 3,
        graphOptimizationLevel: 'all',
        ...(threads && { intraOpNumThreads: threads, interOpNumThreads: 1 }),
      });
    } catch (err) {
      const reason = reasonOf(err);
      failures.push(`${provider}: ${reason}`);
      log.warn('onnx model failed to load on a provider; trying the next', { path, provider, reason });
      continue;
    }
    log.debug('onnx session opened', { path, provider });
    let released = false;
    const declared = new Map(session.inputMetadata.flatMap((m) => ('type' in m && m.isTensor ? [[m.name, String(m.type)]] : [])));
    return {
      path,
      provider,
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      inputDims: Object.fromEntries(session.inputMetadata.flatMap((m) => ('shape' in m && m.isTensor ? [[m.name, m.shape]] : []))),
      async run(feeds, fetch) {
        const input = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v, declared.get(k))]));
        const out = fetch ? await session.run(input, [...fetch]) : await session.run(input);
        return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, fromOrt(v, k)]));
      },
      async release() {
        if (released) return;
        released = true;
        await session.release();
      },
    };
  }
  throw new Error(`cannot open ${path}: ${failures.join('; ')}`);
}
