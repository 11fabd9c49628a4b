/**
 * The out-of-domain detector's numerics, against computations done another way here: the
 * Mahalanobis distance by solving (C + ridge·I) y = x with Gaussian elimination, eigenvectors
 * checked by C·v = λ·v with C formed explicitly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainDetector, DomainModel } from '../../src/models/captioner/domain.js';
import { lumaStats, stretchContrast } from '../../src/media/contrast.js';
import { Rng } from '../../src/util/rng.js';

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
  assert.deepEqual(
    [...values].sort((a, b) => b - a),
    values,
  );
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
  detector.calibrate(
    heldout.map((x) => detector.distance(x)),
    0.99,
  );
  const fresh = samples(400, 16, 6).filter((x) => detector.isOutOfDomain(detector.distance(x))).length;
  assert.ok(fresh <= 16, `${fresh} of 400 fresh in-domain samples flagged`);
  const far = samples(50, 16, 7).map((x) => x.map((v, i) => (i % 2 ? v * 4 : 0)));
  assert.equal(far.filter((x) => detector.isOutOfDomain(detector.distance(x))).length, 50);
});

test('a saved model loads with the same distances and thresholds; a damaged one is refused with what is wrong', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-domain-'));
  try {
    const features = DomainDetector.fit(samples(200, 12, 8), { components: 5 });
    const stretched = DomainDetector.fit(samples(200, 12, 10), { components: 4 });
    features.threshold = 3.5;
    stretched.threshold = 4.5;
    await new DomainModel(features, stretched, 6.25).save(join(dir, 'domain.json'));
    const loaded = await DomainModel.load(join(dir, 'domain.json'));
    assert.deepEqual([loaded.features.threshold, loaded.stretched.threshold, loaded.minContrast], [3.5, 4.5, 6.25]);
    for (const x of samples(10, 12, 9)) {
      assert.ok(Math.abs(loaded.features.distance(x) - features.distance(x)) < 1e-4 * features.distance(x));
      assert.ok(Math.abs(loaded.stretched.distance(x) - stretched.distance(x)) < 1e-4 * stretched.distance(x));
    }
    await writeFile(join(dir, 'domain-stretched.bin'), Buffer.alloc(100));
    await assert.rejects(DomainModel.load(join(dir, 'domain.json')), /domain-stretched\.bin: expected \d+ bytes \(12 features, 4 directions\), found 100/);
    await writeFile(join(dir, 'domain.json'), JSON.stringify({ format: 'livecap-domain-2', minContrast: 1, features: { featureSize: -1 }, stretched: {} }));
    await assert.rejects(DomainModel.load(join(dir, 'domain.json')), /features\.featureSize must be a positive number.*features\.components/);
    await writeFile(join(dir, 'domain.json'), JSON.stringify({ format: 'livecap-domain-1' }));
    await assert.rejects(DomainModel.load(join(dir, 'domain.json')), /format must be "livecap-domain-2", got "livecap-domain-1"; run livecap domain again/);
    assert.throws(() => features.distance(new Float32Array(3)), /expects 12 features, got 3/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the verdict is the worst of the three checks, and says which', () => {
  const d = DomainDetector.fit(samples(100, 6, 11), { components: 3 });
  d.threshold = 2;
  const model = new DomainModel(d, d, 5);
  assert.deepEqual(model.judge(1, 1, 20), { outOfDomain: false, score: 0.5 });
  assert.deepEqual(model.judge(3, 1, 20), { outOfDomain: true, score: 1.5, check: 'features' });
  assert.deepEqual(model.judge(1, 5, 20), { outOfDomain: true, score: 2.5, check: 'stretched' });
  assert.deepEqual(model.judge(1, 1, 2), { outOfDomain: true, score: 2.5, check: 'flat' });
  assert.deepEqual(model.judge(1, 1, 0), { outOfDomain: true, score: 99, check: 'flat' });
});

test('contrast: a dim or washed-out frame stretched to full range looks like the original; a flat one is left alone', () => {
  // A picture with structure: grey levels from black to white across.
  const original = { width: 40, height: 30, data: Uint8Array.from({ length: 40 * 30 * 3 }, (_, i) => Math.min(255, Math.floor((Math.floor(i / 3) % 40) * 6.5))) };
  const dim = { ...original, data: original.data.map((v) => Math.round(v * 0.2)) };
  const washed = { ...original, data: original.data.map((v) => Math.round(128 + (v - 128) * 0.25)) };
  const o = lumaStats(original);
  assert.ok(lumaStats(dim).std < o.std * 0.21 && lumaStats(washed).std < o.std * 0.26);
  for (const frame of [dim, washed]) {
    const back = stretchContrast(frame);
    const s = lumaStats(back);
    assert.ok(s.low <= 3 && s.high >= 252, `${s.low}..${s.high}`);
    assert.ok(Math.abs(s.std - o.std) < 0.15 * o.std, `${s.std} vs ${o.std}`);
  }
  const flat = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(90) };
  assert.equal(stretchContrast(flat), flat);
  assert.equal(lumaStats(flat).std, 0);
});

/** Pairs of views of one latent picture: plain and stretched features that change together. */
function viewPairs(n: number, F: number, seed: number): { plain: Float32Array; stretched: Float32Array }[] {
  const rng = new Rng(77);
  const mix = () => Array.from({ length: F }, () => Array.from({ length: 3 }, () => rng.next()));
  const [mixPlain, mixStretched] = [mix(), mix()];
  const draw = new Rng(seed);
  const view = (m: number[][], z: number[]) => Float32Array.from(m, (row) => Math.max(0, row[0]! * z[0]! + row[1]! * z[1]! + row[2]! * z[2]! + 0.02 * draw.next()));
  return Array.from({ length: n }, () => {
    const z = [draw.next(), draw.next(), draw.next()];
    return { plain: view(mixPlain, z), stretched: view(mixStretched, z) };
  });
}

test('the joint check flags views that are each in domain but do not belong together; old detectors without it load and judge as before', async () => {
  const fit = viewPairs(600, 8, 1);
  const held = viewPairs(400, 8, 2);
  const plain = DomainDetector.fit(
    fit.map((p) => p.plain),
    { components: 3 },
  );
  const stretched = DomainDetector.fit(
    fit.map((p) => p.stretched),
    { components: 3 },
  );
  const side = (p: { plain: Float32Array; stretched: Float32Array }) => Float32Array.from([...p.plain, ...p.stretched]);
  const joint = DomainDetector.fit(fit.map(side), { components: 6 });
  plain.calibrate(
    held.map((p) => plain.distance(p.plain)),
    0.99,
  );
  stretched.calibrate(
    held.map((p) => stretched.distance(p.stretched)),
    0.99,
  );
  joint.calibrate(
    held.map((p) => joint.distance(side(p))),
    0.99,
  );
  const model = new DomainModel(plain, stretched, 0, undefined, joint);
  const verdict = (p: { plain: Float32Array; stretched: Float32Array }) => model.judge(plain.distance(p.plain), stretched.distance(p.stretched), 50, model.jointDistance(p.plain, p.stretched));
  const fresh = viewPairs(300, 8, 3);
  // The plain view of one picture with the stretched view of another: a camera whose picture,
  // stretched, does not change the way the synthetic world's does.
  const mismatched = fresh.map((p, i) => ({ plain: p.plain, stretched: fresh[(i + 150) % 300]!.stretched }));
  const flagged = (set: typeof fresh) => set.map(verdict).filter((v) => v.outOfDomain);
  assert.ok(flagged(fresh).length <= 15, `${flagged(fresh).length} of 300 in-domain pairs flagged`);
  const caught = flagged(mismatched);
  assert.ok(caught.length >= 240, `${caught.length} of 300 mismatched pairs flagged`);
  assert.ok(caught.filter((v) => v.check === 'joint').length >= 200, 'by the joint check, not the single views');
  const withoutJoint = new DomainModel(plain, stretched, 0);
  assert.ok(mismatched.map((p) => withoutJoint.judge(plain.distance(p.plain), stretched.distance(p.stretched), 50)).filter((v) => v.outOfDomain).length <= 30, 'neither view alone sees it');

  const dir = await mkdtemp(join(tmpdir(), 'livecap-domain-joint-'));
  try {
    await model.save(join(dir, 'domain.json'));
    const loaded = await DomainModel.load(join(dir, 'domain.json'));
    assert.equal(loaded.joint!.threshold, joint.threshold);
    const p = mismatched[0]!;
    assert.ok(Math.abs(loaded.jointDistance(p.plain, p.stretched)! - model.jointDistance(p.plain, p.stretched)!) < 1e-3);
    await withoutJoint.save(join(dir, 'old.json'));
    const old = await DomainModel.load(join(dir, 'old.json'));
    assert.equal(old.joint, undefined);
    assert.equal(old.jointDistance(p.plain, p.stretched), undefined);
    const json = JSON.parse(await readFile(join(dir, 'domain.json'), 'utf8'));
    // The plain detector's entry where the joint one should be: a detector of the wrong size.
    json.joint = json.features;
    await writeFile(join(dir, 'domain.json'), JSON.stringify(json));
    await assert.rejects(DomainModel.load(join(dir, 'domain.json')), /joint detector must take twice the feature size \(16\), not 8/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
