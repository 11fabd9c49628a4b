/**
 * Generation benchmark: does the key/value cache keep the cost per new token flat?
 *
 * The same model is run with its merged KV-cache decoder (livecap's path) and, as the baseline
 * in the same run, with the plain decoder that reruns every token at each step. Each is timed
 * for 16 and for 64 new tokens (greedy, exact lengths forced with min/max length). With the
 * cache, 64 tokens should cost close to 4× 16 tokens (target ≤ 4.5×); without it the cost
 * grows faster than the length.
 *
 *   livecap bench generation [--model DIR] [--runs N]
 * Without --model, a BART of bart-base's width with random weights (d_model 256 … see below)
 * is written to a temporary folder; its outputs are meaningless, its cost is real.
 */
import { mkdtemp, rm, rename } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numberFlag, parseFlags, wantsHelp } from '../src/util/flags.js';
import type { BartConfig } from '../src/train/bart/bart-config.js';
import { initBartWeights } from '../src/train/bart/bart-weights.js';
import { writeBartModelDir } from '../src/train/bart/write-bart-dir.js';
import { TextSeq2Seq } from '../src/models/seq2seq/text-seq2seq.js';
import { tokenizerConfigJson, trainByteLevelBpe } from '../src/train/tokenizer/byte-level-bpe.js';
import { captionsFor } from '../src/synth/grammar.js';
import { randomScene } from '../src/synth/world.js';
import { Progress } from '../src/util/progress.js';
import { Rng } from '../src/util/rng.js';
import { machineLine, summarize } from './machine.js';

const INPUT = 'a red circle on the grass. a large blue star in the sky on the left. three small yellow crosses on the snow.';

async function randomBart(dir: string): Promise<void> {
  const rng = new Rng(5);
  const corpus = Array.from({ length: 300 }, () => captionsFor(randomScene(rng)).join('. '));
  const tokenizer = trainByteLevelBpe(corpus, { vocabSize: 1000 });
  const vocabSize = Object.keys((tokenizer.model as { vocab: object }).vocab).length;
  const config: BartConfig = {
    vocabSize,
    dModel: 256,
    encoderLayers: 3,
    decoderLayers: 3,
    encoderHeads: 4,
    decoderHeads: 4,
    encoderFfn: 1024,
    decoderFfn: 1024,
    maxPositions: 256,
    scaleEmbedding: false,
    activation: 'gelu',
    padTokenId: 1,
    bosTokenId: 0,
    eosTokenId: 2,
    decoderStartTokenId: 2,
  };
  await writeBartModelDir(dir, { config, weights: initBartWeights(config, 1), tokenizer, tokenizerConfig: tokenizerConfigJson(256), generation: {} });
}

const HELP = `usage: livecap bench generation [--model DIR] [--runs 5]

  Whether the key/value cache keeps the cost per new token flat: the merged KV-cache decoder
  against the plain decoder, for 16 and 64 new tokens (a random BART without --model).`;

export async function run(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, { model: { type: 'string' }, runs: { type: 'string' } });
  const runs = numberFlag('runs', values.runs, 5);
  const temp = values.model ? undefined : await mkdtemp(join(tmpdir(), 'livecap-bench-bart-'));
  const dir = values.model ?? temp!;
  const merged = join(dir, 'onnx', 'decoder_model_merged.onnx');
  const hidden = `${merged}.benchmark-hidden`;
  try {
    if (temp) await randomBart(temp);
    if (!existsSync(merged)) throw new Error(`${dir} has no onnx/decoder_model_merged.onnx to benchmark`);
    const rows: [string, ReturnType<typeof summarize>][] = [];
    const time = async (label: string, model: TextSeq2Seq, tokens: number) => {
      const opts = { numBeams: 1, minLength: tokens + 1, maxLength: tokens + 1, noRepeatNgramSize: 0 };
      await model.generate(INPUT, opts); // warm-up
      const bar = new Progress({ label, total: runs });
      const ms: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        const r = await model.generate(INPUT, opts);
        ms.push(performance.now() - t0);
        if (r.tokens.length !== tokens) throw new Error(`${label}: generated ${r.tokens.length} tokens, expected ${tokens}`);
        bar.tick();
      }
      rows.push([label, summarize(ms)]);
    };
    const cached = await TextSeq2Seq.open(dir);
    try {
      await time('KV cache (merged decoder), 16 tokens', cached, 16);
      await time('KV cache (merged decoder), 64 tokens', cached, 64);
    } finally {
      await cached.release();
    }
    await rename(merged, hidden); // the same folder without the merged file loads the plain decoder
    const plain = await TextSeq2Seq.open(dir);
    try {
      await time('no cache (plain decoder), 16 tokens', plain, 16);
      await time('no cache (plain decoder), 64 tokens', plain, 64);
    } finally {
      await plain.release();
      await rename(hidden, merged);
    }
    console.log(`generation benchmark: ${machineLine(`onnxruntime-node ${cached.provider}`)}`);
    console.log(`model ${values.model ?? 'random BART d_model 256, 3+3 layers, 4 heads, ffn 1024'}, greedy, ${runs} runs each\n`);
    console.log('| decoder | mean ms | p50 ms | p95 ms | ms per token |');
    console.log('|---|---|---|---|---|');
    for (const [label, s] of rows) console.log(`| ${label} | ${s.mean.toFixed(1)} | ${s.p50.toFixed(1)} | ${s.p95.toFixed(1)} | ${(s.mean / Number(/(\d+) tokens/.exec(label)![1])).toFixed(2)} |`);
    const mean = (i: number) => rows[i]![1].mean;
    console.log(`\n64 vs 16 tokens: with the cache ×${(mean(1) / mean(0)).toFixed(2)} (target ≤ 4.5), without ×${(mean(3) / mean(2)).toFixed(2)}`);
    return 0;
  } finally {
    if (existsSync(hidden)) await rename(hidden, merged);
    if (temp) await rm(temp, { recursive: true, force: true });
  }
}
