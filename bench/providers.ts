/**
 * Execution providers: the same ONNX exports, through livecap's engine, on the CPU provider
 * (the baseline) and on the WebGPU provider that onnxruntime-node bundles, in the same run.
 *
 * Models: the tests' tiny exports (ViT-GPT2, BART, Florence-2), written with random weights,
 * and a Florence-2 of Florence-2-base's text width (d_model 768, 6+6 layers, 12 heads, ffn 3072,
 * 576 image tokens) where a real user's cost shows. Their outputs are meaningless, their cost is
 * real. Each frame or sentence goes through both providers in turn (the order rotating); every
 * run makes exactly the same number of tokens (min and max length forced), and the table says
 * how many runs chose the same tokens on both providers (GPU arithmetic differs in the last bits,
 * so a near tie may go the other way).
 *
 * A provider that does not work on the machine is reported with its reason, never a crash:
 * without a GPU the table has only the CPU rows. livecap's sessions copy their inputs and
 * outputs (the decoder's cache too) between the host and the GPU at every step; the figures
 * include that, since that is what a caption costs.
 *
 *   livecap bench providers [--frames N] [--tokens N] [--skip-large]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numberFlag, parseFlags, wantsHelp } from '../src/util/flags.js';
import type { ExecutionProvider } from '../src/models/onnx/runtime.js';
import { Florence2 } from '../src/models/seq2seq/florence2.js';
import { ImageSeq2Seq } from '../src/models/seq2seq/image-seq2seq.js';
import { TextSeq2Seq } from '../src/models/seq2seq/text-seq2seq.js';
import { captionsFor } from '../src/synth/grammar.js';
import { renderScene } from '../src/synth/render.js';
import { randomScene } from '../src/synth/world.js';
import { Progress } from '../src/util/progress.js';
import { Rng } from '../src/util/rng.js';
import { makeTinyBart } from '../test/helpers/tiny-bart.js';
import { makeTinyFlorence2, type Florence2Size } from '../test/helpers/tiny-florence2.js';
import { makeTinyVitGpt2 } from '../test/helpers/tiny-vit-gpt2.js';
import { machineLine, summarize } from './machine.js';

const HELP = `usage: livecap bench providers [--frames 20] [--tokens 20] [--skip-large]

  Caption and summary time of ONNX exports through livecap's engine on the CPU provider and on
  the WebGPU provider (bundled with onnxruntime-node), in the same run. Tiny exports as the
  tests write them, and a Florence-2 of Florence-2-base's width (--skip-large leaves it out).`;

const PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'webgpu'];

/** One model opened on one provider: run(i) makes the i-th input's tokens. */
interface Opened {
  provider: string;
  run(i: number): Promise<number[]>;
  release(): Promise<void>;
}

interface ModelCase {
  label: string;
  write(dir: string, tokens: number): Promise<void>;
  open(dir: string, provider: ExecutionProvider, tokens: number): Promise<Opened>;
}

function cases(count: number, large: boolean): ModelCase[] {
  const rng = new Rng(7);
  const frames = Array.from({ length: count }, () => renderScene(randomScene(rng), 320, 240));
  const texts = Array.from({ length: count }, () => captionsFor(randomScene(rng)).slice(0, 3).join('. '));
  const exact = (tokens: number) => ({ numBeams: 1, minLength: tokens + 1, maxLength: tokens + 1, noRepeatNgramSize: 0 });
  const gen = (tokens: number) => ({ num_beams: 1, min_length: tokens + 1, max_length: tokens + 1, no_repeat_ngram_size: 0 });
  const florence = (label: string, size: Florence2Size): ModelCase => ({
    label,
    write: async (dir, tokens) => void (await makeTinyFlorence2({ dir, size, generation: gen(tokens) })),
    async open(dir, provider, tokens) {
      const m = await Florence2.open(dir, { provider });
      return { provider: m.provider, run: async (i) => (await m.caption(frames[i % frames.length]!, exact(tokens))).tokens, release: () => m.release() };
    },
  });
  const list: ModelCase[] = [
    {
      label: 'ViT-GPT2, tiny (tests)',
      write: async (dir, tokens) => void (await makeTinyVitGpt2({ dir, generation: gen(tokens) })),
      async open(dir, provider, tokens) {
        const m = await ImageSeq2Seq.open(dir, { provider });
        return { provider: m.provider, run: async (i) => (await m.caption(frames[i % frames.length]!, exact(tokens))).tokens, release: () => m.release() };
      },
    },
    {
      label: 'BART, tiny (tests)',
      write: async (dir, tokens) => void (await makeTinyBart({ dir, generation: gen(tokens) })),
      async open(dir, provider, tokens) {
        const m = await TextSeq2Seq.open(dir, { provider });
        return { provider: m.provider, run: async (i) => (await m.generate(texts[i % texts.length]!, exact(tokens))).tokens, release: () => m.release() };
      },
    },
    florence('Florence-2, tiny (tests)', {}),
  ];
  if (large) list.push(florence('Florence-2, base width: d_model 768, 6+6 layers, 576 image tokens', { dModel: 768, layers: 6, heads: 12, ffn: 3072, imageSize: 384, patch: 16 }));
  return list;
}

interface Row {
  model: string;
  provider: ExecutionProvider;
  openedOn?: string;
  stats?: ReturnType<typeof summarize>;
  sameTokens?: number;
  failure?: string;
}

/** The GPU's name where nvidia-smi answers, for the results line. */
function gpuName(): string | undefined {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { encoding: 'utf8', timeout: 10_000 }).trim().split('\n')[0];
  } catch {
    return undefined;
  }
}

async function benchOne(c: ModelCase, dir: string, count: number, tokens: number): Promise<Row[]> {
  const opened: [ExecutionProvider, Opened][] = [];
  const rows: Row[] = [];
  try {
    for (const provider of PROVIDERS) {
      try {
        opened.push([provider, await c.open(dir, provider, tokens)]);
      } catch (err) {
        rows.push({ model: c.label, provider, failure: (err as Error).message.split('\n')[0]!.slice(0, 240) });
      }
    }
    for (const [, o] of opened) for (let i = 0; i < 3; i++) await o.run(i); // warm-up (shaders, allocations)
    const ms = opened.map(() => [] as number[]);
    const tokensOf = opened.map(() => [] as string[]);
    const bar = new Progress({ label: c.label.split(',')[0]!, total: count });
    for (let f = 0; f < count; f++) {
      for (let k = 0; k < opened.length; k++) {
        const p = (f + k) % opened.length;
        const t0 = performance.now();
        const out = await opened[p]![1].run(f);
        ms[p]!.push(performance.now() - t0);
        if (out.length !== tokens) throw new Error(`${c.label} on ${opened[p]![0]}: made ${out.length} tokens, expected ${tokens}`);
        tokensOf[p]!.push(out.join(','));
      }
      bar.tick();
    }
    const cpu = opened.findIndex(([p]) => p === 'cpu');
    for (const [k, [provider, o]] of opened.entries()) {
      const same = cpu < 0 ? undefined : tokensOf[k]!.filter((t, i) => t === tokensOf[cpu]![i]).length;
      rows.push({ model: c.label, provider, openedOn: o.provider, stats: summarize(ms[k]!), sameTokens: same });
    }
    return rows.sort((a, b) => PROVIDERS.indexOf(a.provider) - PROVIDERS.indexOf(b.provider));
  } finally {
    for (const [, o] of opened) await o.release();
  }
}

export async function run(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, { frames: { type: 'string' }, tokens: { type: 'string' }, 'skip-large': { type: 'boolean' } });
  const count = numberFlag('frames', values.frames, 20);
  const tokens = numberFlag('tokens', values.tokens, 20);
  const temp = await mkdtemp(join(tmpdir(), 'livecap-bench-providers-'));
  try {
    const rows: Row[] = [];
    for (const [i, c] of cases(count, !values['skip-large']).entries()) {
      const dir = join(temp, `m${i}`);
      const t0 = performance.now();
      await c.write(dir, tokens);
      console.error(`${c.label}: written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      rows.push(...(await benchOne(c, dir, count, tokens)));
    }
    const ortVersion = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
    const gpu = gpuName();
    console.log(`providers benchmark: ${machineLine(`onnxruntime-node ${ortVersion}${gpu ? `, GPU ${gpu}` : ''}`)}`);
    console.log(`${count} inputs per provider (320×240 synthetic scenes, or three synthetic captions for BART), greedy, exactly ${tokens} tokens each\n`);
    console.log('| model | provider | opened on | mean ms | p50 ms | p95 ms | vs CPU | same tokens as CPU |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      if (r.failure) {
        console.log(`| ${r.model} | ${r.provider} | did not open: ${r.failure.replaceAll('|', '/')} | | | | | |`);
        continue;
      }
      const base = rows.find((b) => b.model === r.model && b.provider === 'cpu')?.stats?.mean;
      const s = r.stats!;
      console.log(
        `| ${r.model} | ${r.provider} | ${r.openedOn} | ${s.mean.toFixed(2)} | ${s.p50.toFixed(2)} | ${s.p95.toFixed(2)} | ${base ? `×${(s.mean / base).toFixed(2)}` : ''} | ${r.sameTokens ?? '?'}/${count} |`,
      );
    }
    return 0;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}
