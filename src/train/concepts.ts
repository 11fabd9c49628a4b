/**
 * Visual concepts mined from captions, to train a backbone when no pretrained one is given:
 * the words and word pairs that captions use, with each image's target being the share of its
 * captions that say the concept. Word pairs ("red circle", "two stars") teach the backbone to
 * keep attributes bound to their object, which single words alone would not.
 */
import { tokenize } from '../models/captioner/vocabulary.js';

export interface ConceptTargets {
  concepts: string[];
  /** Row-major [images, concepts] in [0, 1]. */
  targets: Float32Array;
}

export function mineConcepts(captionsPerImage: readonly (readonly string[])[], minCount = 5, maxConcepts = 512): ConceptTargets {
  const perImage = captionsPerImage.map((captions) =>
    captions.map((c) => {
      const t = tokenize(c);
      const grams = new Set<string>(t);
      for (let i = 0; i + 1 < t.length; i++) grams.add(`${t[i]} ${t[i + 1]}`);
      return grams;
    }),
  );
  const counts = new Map<string, number>();
  for (const caps of perImage) {
    const seen = new Set<string>();
    for (const g of caps) for (const k of g) seen.add(k);
    for (const k of seen) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const n = captionsPerImage.length;
  // Concepts every image has teach nothing; keep the informative ones, most frequent first.
  const concepts = [...counts.entries()]
    .filter(([, c]) => c >= minCount && c < n * 0.95)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, maxConcepts)
    .map(([k]) => k);
  const index = new Map(concepts.map((c, i) => [c, i]));
  const targets = new Float32Array(n * concepts.length);
  perImage.forEach((caps, i) => {
    for (const grams of caps) {
      for (const g of grams) {
        const j = index.get(g);
        if (j !== undefined) targets[i * concepts.length + j] += 1 / caps.length;
      }
    }
  });
  return { concepts, targets };
}
