/**
 * Caption metrics against several references per image.
 *
 * BLEU-1..4: corpus BLEU (Papineni et al. 2002) as nltk's corpus_bleu computes it, which is
 * what Flickr8k captioning tutorials report: clipped n-gram precisions summed over the corpus,
 * uniform weights over 1..n, brevity penalty against the closest reference length.
 *
 * CIDEr-D (Vedantam et al. 2015) as the COCO caption toolkit computes it: TF-IDF weighted
 * n-gram (1..4) cosine similarity with a Gaussian length penalty (σ = 6), clipped candidate
 * counts, averaged over references and scaled by 10. Document frequencies come from the
 * references of the evaluated set.
 */
import { tokenize } from '../models/captioner/vocabulary.js';

function ngrams(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

export interface Scored {
  candidate: string;
  references: readonly string[];
}

/** Corpus BLEU-1..4, each in [0, 1]. */
export function corpusBleu(items: readonly Scored[]): [number, number, number, number] {
  const matches = [0, 0, 0, 0];
  const totals = [0, 0, 0, 0];
  let candLength = 0;
  let refLength = 0;
  for (const { candidate, references } of items) {
    const cand = tokenize(candidate);
    const refs = references.map(tokenize);
    candLength += cand.length;
    // Closest reference length; ties go to the shorter one.
    refLength += refs
      .map((r) => r.length)
      .reduce((best, len) => (Math.abs(len - cand.length) < Math.abs(best - cand.length) || (Math.abs(len - cand.length) === Math.abs(best - cand.length) && len < best) ? len : best), Infinity);
    for (let n = 1; n <= 4; n++) {
      const counts = ngrams(cand, n);
      const maxRef = new Map<string, number>();
      for (const r of refs) for (const [g, c] of ngrams(r, n)) maxRef.set(g, Math.max(maxRef.get(g) ?? 0, c));
      for (const [g, c] of counts) matches[n - 1] += Math.min(c, maxRef.get(g) ?? 0);
      totals[n - 1] += Math.max(0, cand.length - n + 1);
    }
  }
  const bp = candLength === 0 ? 0 : candLength > refLength ? 1 : Math.exp(1 - refLength / candLength);
  const result: number[] = [];
  for (let upTo = 1; upTo <= 4; upTo++) {
    let logSum = 0;
    let zero = false;
    for (let n = 1; n <= upTo; n++) {
      if (matches[n - 1] === 0 || totals[n - 1] === 0) zero = true;
      else logSum += Math.log(matches[n - 1] / totals[n - 1]) / upTo;
    }
    result.push(zero ? 0 : bp * Math.exp(logSum));
  }
  return result as [number, number, number, number];
}

/** CIDEr-D over the set; in [0, 10]. */
export function ciderD(items: readonly Scored[], sigma = 6): number {
  if (items.length === 0) return 0;
  const docFreq = new Map<string, number>();
  const refGrams = items.map((it) =>
    it.references.map((r) => {
      const toks = tokenize(r);
      const grams = [1, 2, 3, 4].map((n) => ngrams(toks, n));
      return { grams, length: toks.length };
    }),
  );
  for (const refs of refGrams) {
    const seen = new Set<string>();
    for (const r of refs) for (const g of r.grams) for (const k of g.keys()) seen.add(k);
    for (const k of seen) docFreq.set(k, (docFreq.get(k) ?? 0) + 1);
  }
  const logN = Math.log(items.length);
  const vector = (grams: Map<string, number>[]) =>
    grams.map((g) => {
      const v = new Map<string, number>();
      let norm = 0;
      for (const [k, tf] of g) {
        const w = tf * (logN - Math.log(Math.max(1, docFreq.get(k) ?? 0)));
        v.set(k, w);
        norm += w * w;
      }
      return { v, norm: Math.sqrt(norm) };
    });
  let total = 0;
  items.forEach((it, i) => {
    const candToks = tokenize(it.candidate);
    const candGrams = [1, 2, 3, 4].map((n) => ngrams(candToks, n));
    const cv = vector(candGrams);
    let score = 0;
    for (const ref of refGrams[i]) {
      const rv = vector(ref.grams);
      const delta = candToks.length - ref.length;
      let sim = 0;
      for (let n = 0; n < 4; n++) {
        let dot = 0;
        for (const [k, w] of cv[n].v) {
          const rw = rv[n].v.get(k);
          // CIDEr-D clips the candidate's weight at the reference's.
          if (rw !== undefined) dot += Math.min(w, rw) * rw;
        }
        if (cv[n].norm > 0 && rv[n].norm > 0) sim += dot / (cv[n].norm * rv[n].norm);
      }
      score += (sim / 4) * Math.exp(-(delta * delta) / (2 * sigma * sigma));
    }
    total += (score / refGrams[i].length) * 10;
  });
  return total / items.length;
}

/**
 * ROUGE-L (Lin 2004): the longest common subsequence of words, as precision against the
 * candidate's length, recall against the reference's, and their F1; each in [0, 1].
 */
export function rougeL(candidate: string, reference: string): { precision: number; recall: number; f: number } {
  const a = tokenize(candidate);
  const b = tokenize(reference);
  if (a.length === 0 || b.length === 0) return { precision: 0, recall: 0, f: 0 };
  let prev = new Array<number>(b.length + 1).fill(0);
  for (const word of a) {
    const row = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++) row[j] = word === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, row[j - 1]!);
    prev = row;
  }
  const lcs = prev[b.length]!;
  const precision = lcs / a.length;
  const recall = lcs / b.length;
  return { precision, recall, f: lcs === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
}
