/**
 * Captioner benchmark: per-frame latency of the embedded CNN→LSTM captioner at batch 1.
 *
 * Baseline, in the same run: the raw model alone (backbone and decoder called in this thread,
 * no worker, no copies). Measured: livecap's path (frame copied to the worker thread,
 * captioned there, caption sent back), greedy and beam search; and the backbone alone.
 *
 *   livecap bench captioner [--model DIR] [--frames N] [--backend wasm|cpu|tensorflow|auto]
 */
import { numberFlag, parseFlags, wantsHelp } from '../src/util/flags.js';
import { Rng } from '../src/util/rng.js';
import { randomScene } from '../src/synth/world.js';
import { renderScene } from '../src/synth/render.js';
import { loadTf, type BackendPreference } from '../src/models/tfjs/runtime.js';
import { CnnLstmCaptioner } from '../src/models/captioner/captioner.js';
import { CaptionerClient } from '../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../src/paths.js';
import { Progress } from '../src/util/progress.js';
import { machineLine, summarize } from './machine.js';

const HELP = `usage: livecap bench captioner [--model DIR] [--frames 100] [--backend wasm|cpu|tensorflow|auto]

  Per-frame latency of a CNN→LSTM captioner at batch 1 (livecap's worker path, greedy
  and beam search), against the raw model called in this thread.`;

export async function run(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, { model: { type: 'string' }, frames: { type: 'string' }, backend: { type: 'string' } });
  const modelDir = values.model ?? EMBEDDED_CAPTIONER;
  const count = numberFlag('frames', values.frames, 100);
  const backend = (values.backend ?? 'wasm') as BackendPreference;
  const rng = new Rng(99);
  const frames = Array.from({ length: count }, () => renderScene(randomScene(rng), 320, 240));
  const runtime = await loadTf(backend);
  const raw = await CnnLstmCaptioner.load(runtime.tf, modelDir);
  const worker = await CaptionerClient.start(modelDir, backend);
  const rows: [string, ReturnType<typeof summarize>][] = [];
  const measure = async (label: string, fn: (i: number) => Promise<unknown>) => {
    for (let i = 0; i < 5; i++) await fn(i); // warm-up: XNNPACK builds its operators on first use
    const bar = new Progress({ label, total: count });
    const ms: number[] = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      await fn(i);
      ms.push(performance.now() - t0);
      bar.tick();
    }
    rows.push([label, summarize(ms)]);
  };
  try {
    await measure('raw backbone only', async (i) => {
      const f = raw.features([frames[i]]);
      await f.data();
      f.dispose();
    });
    await measure('raw model, greedy', (i) => raw.caption(frames[i], { beamWidth: 1 }));
    await measure('livecap worker, greedy', (i) => worker.caption(frames[i], { beamWidth: 1 }));
    await measure('raw model, beam 3', (i) => raw.caption(frames[i], { beamWidth: 3 }));
    await measure('livecap worker, beam 3', (i) => worker.caption(frames[i], { beamWidth: 3 }));
  } finally {
    raw.dispose();
    await worker.close();
  }
  console.log(`captioner benchmark: ${machineLine(`tfjs backend ${runtime.description}`)}`);
  console.log(`model ${modelDir}, ${count} frames of 320×240 at batch 1\n`);
  console.log('| path | mean ms | p50 ms | p95 ms |');
  console.log('|---|---|---|---|');
  for (const [label, s] of rows) console.log(`| ${label} | ${s.mean.toFixed(1)} | ${s.p50.toFixed(1)} | ${s.p95.toFixed(1)} |`);
  const get = (l: string) => rows.find(([k]) => k === l)![1].mean;
  console.log(`\nworker overhead: greedy ×${(get('livecap worker, greedy') / get('raw model, greedy')).toFixed(2)}, beam ×${(get('livecap worker, beam 3') / get('raw model, beam 3')).toFixed(2)}`);
  return 0;
}
