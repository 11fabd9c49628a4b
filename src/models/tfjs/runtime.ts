/**
 * The one place that loads TensorFlow.js and picks its backend at run time.
 *
 * Preference order (LIVECAP_TF_BACKEND=auto, the default):
 *   1. @tensorflow/tfjs-node-gpu, when installed and it sees a GPU
 *   2. @tensorflow/tfjs-node (or tfjs-node-gpu running on the CPU)
 *   3. the WebAssembly backend (@tensorflow/tfjs-backend-wasm, always installed)
 *   4. the pure-JavaScript CPU backend, only if WebAssembly fails to start
 * Neither native package is a dependency (they download libtensorflow at install time); a
 * user opts in with `npm install @tensorflow/tfjs-node`. Each step that is passed over is
 * logged with its reason, and so is the choice.
 */
import { createRequire } from 'node:module';
import { log } from '../../util/log.js';
import { registerWasmKernels } from './wasm-kernels.js';
import type { Tf } from './tf.js';

export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface TfRuntime {
  tf: Tf;
  /** The tfjs backend name: tensorflow, wasm or cpu. */
  backend: string;
  /** What was chosen and why, for logs and benchmark reports. */
  description: string;
}

const require = createRequire(import.meta.url);
let loading: Promise<TfRuntime> | undefined;

/** Loads TensorFlow.js once per thread and returns the chosen backend. */
export function loadTf(preference: BackendPreference = envPreference()): Promise<TfRuntime> {
  loading ??= choose(preference);
  return loading;
}

function envPreference(): BackendPreference {
  const value = (process.env.LIVECAP_TF_BACKEND ?? 'auto').toLowerCase();
  if (value === 'auto' || value === 'tensorflow' || value === 'wasm' || value === 'cpu') return value;
  throw new Error(`LIVECAP_TF_BACKEND must be auto, tensorflow, wasm or cpu, got '${value}'`);
}

function tryRequire(name: string): { module?: unknown; reason?: string } {
  try {
    return { module: require(name) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { reason: e.code === 'MODULE_NOT_FOUND' && e.message.includes(`'${name}'`) ? 'not installed' : e.message.split('\n')[0] };
  }
}

async function choose(preference: BackendPreference): Promise<TfRuntime> {
  const passedOver: string[] = [];
  if (preference === 'auto' || preference === 'tensorflow') {
    for (const name of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      const { module, reason } = tryRequire(name);
      if (!module) {
        passedOver.push(`${name}: ${reason}`);
        continue;
      }
      const tf = module as Tf;
      await tf.ready();
      const usingGpu = Boolean((tf.engine().backend as { isUsingGpuDevice?: boolean }).isUsingGpuDevice);
      const description = `tensorflow (${name}${name.endsWith('-gpu') ? (usingGpu ? ', GPU' : ', no GPU found: CPU') : ''})`;
      return announce({ tf, backend: tf.getBackend(), description }, passedOver);
    }
    if (preference === 'tensorflow') throw new Error(`the tensorflow backend was asked for but ${passedOver.join('; ')}`);
  }
  const tf = require('@tensorflow/tfjs') as Tf;
  if (preference !== 'cpu') {
    try {
      require('@tensorflow/tfjs-backend-wasm');
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        registerWasmKernels(tf);
        const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
        return announce({ tf, backend: 'wasm', description: `wasm (${simd ? 'SIMD' : 'no SIMD'})` }, passedOver);
      }
      passedOver.push('wasm: backend failed to initialise');
    } catch (err) {
      passedOver.push(`wasm: ${(err as Error).message.split('\n')[0]}`);
    }
    if (preference === 'wasm') throw new Error(`the wasm backend was asked for but ${passedOver.join('; ')}`);
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return announce({ tf, backend: 'cpu', description: 'cpu (pure JavaScript, slow)' }, passedOver);
}

function announce(runtime: TfRuntime, passedOver: string[]): TfRuntime {
  // Production mode also silences tfjs' console banner suggesting tfjs-node; the log line says it better.
  runtime.tf.enableProdMode();
  log.info('tensorflow.js backend chosen', { backend: runtime.description, passedOver: passedOver.length ? passedOver.join('; ') : undefined });
  return runtime;
}
