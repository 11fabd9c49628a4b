/**
 * The out-of-domain detector's numerics, against computations done another way here: the
 * Mahalanobis distance by solving (C + ridge·I) y = x with Gaussian elimination, eigenvectors
 * checked by C·v = λ·v with C formed explicitly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainDetector } from '../src/models/captioner/domain.js';
import { Rng } from '../src/util/rng.js';

/** n samples of F correlated non-negative features (as pooled ReLU activations are). */
function samples(n: number, F: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const mix = Array.from({ length: F }, () => Array.from({ length: 3 }, () => rng.next()));
  return Array.from({ length: n }, () => {
    const z = [rng.next(), rng.next(), rng.next()];
    return Float32Array.from(mix, (m, i) => Math.max(0, m[0]! * z[0]! + m[1]! * z[1]! + m[2]! * z[2]! + 0.3 * rng.next() - (i % 3) * 0.1));
  });
}

const transform = (x: ArrayLike<number>) => Array.from(x, (v) => Math.sqrt(Math.max(0, v)));

function covariance(rows: number[][]): { mean: number[]; C: number[][] } {
  const n = rows.length;
  const F = rows[0]!.length;
  const mean = Array.from({ length: F }, (_, i) => rows.reduce((a, r) => a + r[i]!, 0) / n);
  const C = Array.from({ length: F }, (_, i) => Array.from({ length: F }, (_, j) => rows.reduce((a, r) => a + (r[i]! - mean[i]!) * (r[j]! - mean[j]!), 0) / (n - 1)));
  return { mean, C };
}

/** Solves A y = b by Gaussian elimination with partial pivoting. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  const y = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= M[r]![k]! * y[k]!;
    y[r] = s / M[r]![r]!;
  }
  return y;
}

test('with every direction kept, the distance is the Mahalanobis distance under the ridged covariance', () => {
  const F = 8;
  const fit = samples(400, F, 1);
  const detector = DomainDetector.fit(fit, { components: F, ridge: 0.1, iterations: 30 });
  const { mean, C } = covariance(fit.map(transform));
  const ridge = (0.1 * C.reduce((a, row, i) => a + row[i]!, 0)) / F;
  const ridged = C.map((row, i) => row.map((v, j) => v + (i === j ? ridge : 0)));
  for (const x of samples(20, F, 2)) {
    const d = transform(x).map((v, i) => v - mean[i]!);
    const exact = Math.sqrt(d.reduce((a, v, i) => a + v * solve(ridged, d)[i]!, 0));
    assert.ok(Math.abs(detector.distance(x) - exact) < 1e-6 * exact, `${detector.distance(x)} vs ${exact}`);
  }
});

test('the kept directions are the leading eigenvectors of the covariance, largest first', () => {
  const F = 24;
  const fit = samples(600, F, 3);
  const detector = DomainDetector.fit(fit, { components: 4, ridge: 0, iterations: 40 });
  const { C } = covariance(fit.map(transform));
  const values = Array.from(detector.variances);
  assert.deepEqual([...values].sort((a, b) => b - a), values);
  detector.directions.forEach((v, c) => {
    const Cv = C.map((row) => row.reduce((a, x, j) => a + x * v[j]!, 0));
    const residual = Math.sqrt(Cv.reduce((a, x, i) => a + (x - values[c]! * v[i]!) ** 2, 0));
    assert.ok(residual < 1e-6 * values[0]!, `direction ${c}: |Cv − λv| = ${residual}`);
  });
  // No direction outside the kept ones has more variance than the last kept one: the trace
  // left over, spread over the rest, is at most the smallest kept variance.
  const trace = C.reduce((a, row, i) => a + row[i]!, 0);
  assert.ok(trace - values.reduce((a, v) => a + v, 0) > 0);
  assert.ok(detector.residualVariance <= values[3]!);
});

test('frames far from the training features score above the calibrated threshold, held-out ones mostly below', () => {
  const fit = samples(500, 16, 4);
  const detector = DomainDetector.fit(fit, { components: 6 });
  const heldout = samples(400, 16, 5);
  detector.calibrate(heldout.map((x) => detector.distance(x)), 0.99);
  const fresh = samples(400, 16, 6).filter((x) => detector.isOutOfDomain(detector.distance(x))).length;
  assert.ok(fresh <= 16, `${fresh} of 400 fresh in-domain samples flagged`);
  const far = samples(50, 16, 7).map((x) => x.map((v, i) => (i % 2 ? v * 4 : 0)));
  assert.equal(far.filter((x) => detector.isOutOfDomain(detector.distance(x))).length, 50);
});

test('a saved detector loads with the same distances; a damaged one is refused with what is wrong', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-domain-'));
  try {
    const detector = DomainDetector.fit(samples(200, 12, 8), { components: 5 });
    detector.threshold = 3.5;
    await detector.save(join(dir, 'domain.json'));
    const loaded = await DomainDetector.load(join(dir, 'domain.json'));
    assert.equal(loaded.threshold, 3.5);
    for (const x of samples(10, 12, 9)) assert.ok(Math.abs(loaded.distance(x) - detector.distance(x)) < 1e-4 * detector.distance(x));
    await writeFile(join(dir, 'domain.bin'), Buffer.alloc(100));
    await assert.rejects(DomainDetector.load(join(dir, 'domain.json')), /domain\.bin: expected \d+ bytes \(12 features, 5 directions\), found 100/);
    await writeFile(join(dir, 'domain.json'), JSON.stringify({ format: 'other', featureSize: -1 }));
    await assert.rejects(DomainDetector.load(join(dir, 'domain.json')), /format must be "livecap-domain-1".*featureSize must be a positive number.*components/);
    assert.throws(() => detector.distance(new Float32Array(3)), /expects 12 features, got 3/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
