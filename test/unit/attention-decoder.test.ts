import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import { loadTf } from '../../src/models/tfjs/runtime.js';
import { AttentionDecoder, ATTENTION_FILE, type AttentionSpec } from '../../src/models/captioner/attention.js';
import type { Tf } from '../../src/models/tfjs/tf.js';

let tf: Tf;
before(async () => {
  tf = (await loadTf('wasm')).tf;
});

// A decoder small enough to compute by hand: a 1×2 grid of 2 channels, 4 words, 2 units.
const SPEC: AttentionSpec = { grid: [1, 2, 2], vocabularySize: 4, embedding: 2, units: 2, attention: 2, dropout: 0 };

/** Deterministic weight values: small, distinct, of both signs. */
function values(spec: AttentionSpec): Map<string, Tensor> {
  const d = AttentionDecoder.create(tf, spec);
  const out = new Map<string, Tensor>();
  let k = 0;
  for (const [name, v] of d.weights) {
    const n = v.size;
    out.set(
      name,
      tf.tensor(
        Float32Array.from({ length: n }, () => Math.sin(++k * 1.7) * 0.8),
        v.shape,
      ),
    );
  }
  d.dispose();
  return out;
}

type M = number[][];
const rows = (t: Tensor): M => {
  const d = Array.from(t.dataSync());
  const [r, c] = t.shape.length === 1 ? [1, t.shape[0]] : t.shape;
  return Array.from({ length: r }, (_, i) => d.slice(i * c, (i + 1) * c));
};
const vec = (t: Tensor) => Array.from(t.dataSync());
/** x [in] times W [in, out] plus b. */
const dense = (x: number[], W: M, b?: number[]) => W[0].map((_, o) => x.reduce((a, xi, i) => a + xi * W[i][o], b ? b[o] : 0));
const sig = (x: number) => 1 / (1 + Math.exp(-x));

test('one attention step matches the equations computed by hand in float64', () => {
  const w = values(SPEC);
  const dec = AttentionDecoder.fromValues(tf, SPEC, w);
  const raw = [
    [0.5, -1.0],
    [1.5, 0.25],
  ]; // two cells, two channels, as the backbone gives them
  // Each cell gets its learned position added.
  const cellsIn = raw.map((cell, l) => cell.map((v, ch) => v + rows(w.get('position')!)[l][ch]));
  const word = 2;
  const h0 = [0.3, -0.6];
  const c0 = [-0.2, 0.4];
  const W = (n: string) => rows(w.get(n)!);
  const b = (n: string) => vec(w.get(n)!);

  // Attention: s_l = v · tanh(W_f a_l + W_h h + b_a); α = softmax(s); z = σ(W_β h + b_β) ⊙ Σ α_l a_l.
  const hProj = dense(h0, W('attention/hidden'));
  const scores = cellsIn.map((a) => {
    const pre = dense(a, W('attention/features'), b('attention/bias')).map((v, j) => Math.tanh(v + hProj[j]));
    return dense(pre, W('attention/score'))[0];
  });
  const m = Math.max(...scores);
  const ex = scores.map((s) => Math.exp(s - m));
  const alpha = ex.map((e) => e / ex.reduce((x, y) => x + y, 0));
  const context = [0, 1].map((ch) => alpha[0] * cellsIn[0][ch] + alpha[1] * cellsIn[1][ch]);
  const gate = dense(h0, W('gate/kernel'), b('gate/bias')).map(sig);
  const z = context.map((v, i) => v * gate[i]);
  // LSTM, Keras gate order i, f, g, o.
  const e = W('embedding')[word];
  const x = [...e, ...z];
  const pre = dense(x, W('lstm/kernel'), b('lstm/bias')).map((v, j) => v + dense(h0, W('lstm/recurrent'))[j]);
  const U = 2;
  const c1 = c0.map((c, u) => sig(pre[U + u]) * c + sig(pre[u]) * Math.tanh(pre[2 * U + u]));
  const h1 = c1.map((c, u) => sig(pre[3 * U + u]) * Math.tanh(c));
  const hidden = dense([...h1, ...z, ...e], W('output/kernel'), b('output/bias')).map((v) => Math.max(0, v));
  const logits = dense(hidden, W('next_word/kernel'), b('next_word/bias'));
  const lm = Math.max(...logits);
  const lse = lm + Math.log(logits.reduce((a, l) => a + Math.exp(l - lm), 0));
  const logProbs = logits.map((l) => l - lse);

  const r = tf.tidy(() => {
    const cells = dec.cellsOf(tf.tensor2d([raw.flat()]));
    const s = dec.step(cells, dec.projectCells(cells), tf.tensor1d([word], 'int32') as Tensor1D, tf.tensor2d([h0]) as Tensor2D, tf.tensor2d([c0]) as Tensor2D);
    return [s.alpha, s.h, s.c, s.logProbs].map(vec);
  });
  const close = (got: number[], want: number[], what: string) => got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 1e-5, `${what}[${i}]: ${g} vs ${want[i]}`));
  close(r[0], alpha, 'alpha');
  close(r[1], h1, 'h');
  close(r[2], c1, 'c');
  close(r[3], logProbs, 'log-probabilities');
  assert.ok(Math.abs(alpha[0] - 0.5) > 1e-3, 'the hand case should not attend uniformly');
  dec.dispose();
  tf.dispose([...w.values()]);
});

test('the initial state is tanh of the whole flattened map through its dense layers', () => {
  const w = values(SPEC);
  const dec = AttentionDecoder.fromValues(tf, SPEC, w);
  const [h, c] = tf.tidy(() => {
    const s = dec.initialState(tf.tensor2d([[1, 2, 3, -2]]));
    return [vec(s.h), vec(s.c)];
  });
  const want = (n: string) => dense([1, 2, 3, -2], rows(w.get(`${n}/kernel`)!), vec(w.get(`${n}/bias`)!)).map(Math.tanh);
  want('init_h').forEach((v, i) => assert.ok(Math.abs(v - h[i]) < 1e-6));
  want('init_c').forEach((v, i) => assert.ok(Math.abs(v - c[i]) < 1e-6));
  dec.dispose();
  tf.dispose([...w.values()]);
});

test('the teacher-forcing loss is the mean of the step-by-step negative log-likelihoods', () => {
  const spec: AttentionSpec = { ...SPEC, grid: [2, 2, 3], vocabularySize: 6 };
  const dec = AttentionDecoder.create(tf, spec, 7);
  const feats = Array.from({ length: 12 }, (_, i) => Math.cos(i));
  const caption = [1, 4, 3, 2]; // start, two words, end
  const loss = tf.tidy(() => {
    const words = tf.tensor2d([caption.slice(0, -1), [1, 5, 0]], [2, 3]);
    const next = tf.tensor2d([caption.slice(1), [5, 2, 0]], [2, 3], 'int32');
    const mask = tf.tensor2d([
      [1, 1, 1],
      [1, 1, 0],
    ]);
    return dec.loss(tf.tensor2d([feats, feats]), words, next, mask, false).dataSync()[0];
  });
  const nll = tf.tidy(() => {
    const cells = dec.cellsOf(tf.tensor2d([feats]));
    const proj = dec.projectCells(cells);
    let total = 0;
    for (const [seq, target] of [
      [caption.slice(0, -1), caption.slice(1)],
      [
        [1, 5],
        [5, 2],
      ],
    ]) {
      let { h, c } = dec.initialState(tf.tensor2d([feats]));
      seq.forEach((wd, t) => {
        const s = dec.step(cells, proj, tf.tensor1d([wd], 'int32') as Tensor1D, h, c);
        total -= s.logProbs.dataSync()[target[t]];
        ({ h, c } = s);
      });
    }
    return total / 5;
  });
  assert.ok(Math.abs(loss - nll) < 1e-5, `${loss} vs ${nll}`);
  dec.dispose();
});

test('save → load gives the same weights, the same captions and the same attention', async () => {
  const spec: AttentionSpec = { grid: [2, 3, 4], vocabularySize: 9, embedding: 5, units: 6, attention: 4, dropout: 0.3 };
  const dec = AttentionDecoder.create(tf, spec, 3);
  const dir = await mkdtemp(join(tmpdir(), 'livecap-attention-'));
  try {
    await dec.save(dir);
    const back = await AttentionDecoder.load(tf, join(dir, ATTENTION_FILE));
    assert.deepEqual(back.spec, spec);
    for (const [name, v] of dec.weights) assert.deepEqual(Array.from(back.weights.get(name)!.dataSync()), Array.from(v.dataSync()), name);
    const features = tf.tensor2d([Array.from({ length: 24 }, (_, i) => Math.sin(i) + 1)]);
    const options = { start: 1, end: 2, maxLength: 6, beamWidth: 3, banned: [0, 1] };
    const a = await dec.search(features, options);
    const b = await back.search(features, options);
    assert.deepEqual(b, a);
    assert.equal(a.alphas.length, a.tokens.length + (a.finished ? 1 : 0));
    for (const al of a.alphas) assert.ok(Math.abs(al.reduce((x, y) => x + y, 0) - 1) < 1e-5);
    features.dispose();
    back.dispose();
  } finally {
    dec.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});

test('loading refuses weights of the wrong shape, naming the file and the weight', async () => {
  const dec = AttentionDecoder.create(tf, SPEC);
  const dir = await mkdtemp(join(tmpdir(), 'livecap-attention-'));
  try {
    await dec.save(dir);
    const { readFile, writeFile } = await import('node:fs/promises');
    const json = JSON.parse(await readFile(join(dir, ATTENTION_FILE), 'utf8'));
    json.spec.units = 3;
    await writeFile(join(dir, ATTENTION_FILE), JSON.stringify(json));
    await assert.rejects(
      AttentionDecoder.load(tf, join(dir, ATTENTION_FILE)),
      (err: Error) => err.message.includes(ATTENTION_FILE) && /init_h\/kernel is \[4, 2\], the spec needs \[4, 3\]/.test(err.message),
    );
  } finally {
    dec.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});
