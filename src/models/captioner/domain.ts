/**
 * Knowing when the captioner does not know: a frame is out of domain when it lies far from the
 * pictures the model was trained on. Three checks, any of which flags a frame:
 *
 *  - its backbone features are far from the training pictures' (`features`);
 *  - the same, for the frame stretched to full contrast (`stretched`): a dim night camera or a
 *    washed-out foggy one gives weak activations that sit near the synthetic world's dark
 *    backdrops, while the stretched frame shows what it really is;
 *  - its features and its stretched features together are unlike any training picture's pair
 *    (`joint`, optional): a foggy or infrared camera can look near enough to the synthetic world
 *    on each view alone, but no synthetic picture changes that way when stretched;
 *  - it is flatter than any training picture (`flat`: luma deviation below the lowest seen, with
 *    a margin): a covered lens or a blank signal has nothing in it to caption.
 *
 * Each distance is a Mahalanobis distance under a probabilistic-PCA model of the training
 * features: features are square-rooted (the backbone's ReLU activations are skewed towards
 * zero), centred, and measured along the k directions of most variance with their own
 * variances, and off that subspace with the mean of the remaining variances. A ridge (a fraction
 * of the mean variance) keeps directions the training pictures never moved in from dominating.
 * Only the mean, k directions and k + 1 variances are stored, so checking a frame costs k dot
 * products of the feature size (and a second pass of the backbone, for the stretched frame).
 *
 * Each threshold is a quantile of the distances of held-out pictures from the same world;
 * `livecap domain` fits, calibrates and reports the rates (held-out synthetic pictures, real
 * photos and footage) in the file it writes:
 *
 *   MODEL_DIR/domain.json  { "format": "livecap-domain-2", "minContrast": c,
 *                            "features":  { "featureSize": F, "components": k, "residualVariance": v, "threshold": t, "weights": "domain.bin" },
 *                            "stretched": { …, "weights": "domain-stretched.bin" },
 *                            "joint": { "featureSize": 2F, …, "weights": "domain-joint.bin" } (optional), "calibration": {…} }
 *   each .bin              float32 little-endian: mean [F], directions [k][F], variances [k]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { readJsonFile } from '../../util/json-file.js';
import { Rng } from '../../util/rng.js';
import type { DomainCheck } from '../../core/caption.js';

export const DOMAIN_FORMAT = 'livecap-domain-2';

/** How a detector was calibrated, as `livecap domain` measured it; kept in domain.json. */
export interface DomainCalibration {
  /** Pictures the model was fitted on. */
  fitted: number;
  /** The share of held-out in-domain pictures above the threshold, by construction about 1 − quantile. */
  quantile: number;
  heldout: { pictures: number; flagged: number };
  /** Real photos and footage it was checked on, per set, when given. */
  real?: Record<string, { pictures: number; flagged: number }>;
}

/** One Gaussian model's entry in domain.json. */
export interface DetectorEntry {
  featureSize: number;
  components: number;
  residualVariance: number;
  threshold: number;
  weights: string;
}

export interface DomainFile {
  format: typeof DOMAIN_FORMAT;
  method: 'mahalanobis-ppca';
  transform: 'sqrt';
  /** Frames with a luma deviation under this are flat: nothing to caption. */
  minContrast: number;
  features: DetectorEntry;
  stretched: DetectorEntry;
  /** Over the plain and stretched features side by side; absent in detectors fitted before it. */
  joint?: DetectorEntry;
  calibration?: DomainCalibration;
}

export interface DomainVerdict {
  outOfDomain: boolean;
  /** The largest of the checks' ratios to their thresholds (> 1: out of domain). */
  score: number;
  /** The check with that ratio, when out of domain. */
  check?: DomainCheck;
}

export interface DomainFitOptions {
  /** Directions of most variance kept (default 64). */
  components?: number;
  /** Added to every variance, as a fraction of the mean variance (default 0.1). */
  ridge?: number;
  /** Subspace iterations (default 12). */
  iterations?: number;
  seed?: number;
}

export const DOMAIN_FIT_DEFAULTS = { components: 64, ridge: 0.1, iterations: 12, seed: 1 } as const;

export class DomainDetector {
  constructor(
    readonly featureSize: number,
    /** [F] */
    readonly mean: Float64Array,
    /** k directions, each [F], orthonormal. */
    readonly directions: Float64Array[],
    /** [k], ridge included. */
    readonly variances: Float64Array,
    /** Of the residual off the k directions, per dimension, ridge included. */
    readonly residualVariance: number,
    /** Distances above this are out of domain. */
    public threshold = Infinity,
  ) {}

  /** Distance of one feature vector [F] from the training distribution. */
  distance(features: ArrayLike<number>): number {
    const F = this.featureSize;
    if (features.length !== F) throw new Error(`domain detector expects ${F} features, got ${features.length}`);
    const x = new Float64Array(F);
    let norm = 0;
    for (let i = 0; i < F; i++) {
      x[i] = Math.sqrt(Math.max(0, features[i]!)) - this.mean[i]!;
      norm += x[i]! * x[i]!;
    }
    let inside = 0;
    let projected = 0;
    for (let c = 0; c < this.directions.length; c++) {
      const d = this.directions[c]!;
      let p = 0;
      for (let i = 0; i < F; i++) p += d[i]! * x[i]!;
      inside += (p * p) / this.variances[c]!;
      projected += p * p;
    }
    return Math.sqrt(inside + Math.max(0, norm - projected) / this.residualVariance);
  }

  /** Distances of a batch of feature vectors, packed [n, F]. */
  distances(packed: Float32Array, n: number): number[] {
    const F = this.featureSize;
    return Array.from({ length: n }, (_, i) => this.distance(packed.subarray(i * F, (i + 1) * F)));
  }

  isOutOfDomain(distance: number): boolean {
    return distance > this.threshold;
  }

  /** Sets the threshold at a quantile of in-domain held-out distances (e.g. 0.99). */
  calibrate(heldoutDistances: readonly number[], quantile: number): number {
    if (heldoutDistances.length === 0) throw new Error('calibration needs held-out pictures');
    const sorted = [...heldoutDistances].sort((a, b) => a - b);
    const at = Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1);
    this.threshold = sorted[Math.max(0, at)]!;
    return this.threshold;
  }

  /** Fits mean, directions and variances to training feature vectors (each [F]). */
  static fit(samples: readonly ArrayLike<number>[], options: DomainFitOptions = {}): DomainDetector {
    const o = { ...DOMAIN_FIT_DEFAULTS, ...options };
    const n = samples.length;
    if (n < 2) throw new Error('fitting a domain needs at least two pictures');
    const F = samples[0]!.length;
    const k = Math.min(o.components, F, n - 1);
    const X = samples.map((s) => {
      if (s.length !== F) throw new Error(`every feature vector must have ${F} values, one has ${s.length}`);
      return Float64Array.from(s, (v) => Math.sqrt(Math.max(0, v)));
    });
    const mean = new Float64Array(F);
    for (const x of X) for (let i = 0; i < F; i++) mean[i]! += x[i]! / n;
    let total = 0;
    for (const x of X) {
      for (let i = 0; i < F; i++) {
        x[i]! -= mean[i]!;
        total += x[i]! * x[i]!;
      }
    }
    total /= n - 1;
    const { vectors, values } = topEigen(X, k, o.iterations, new Rng(o.seed));
    const ridge = (o.ridge * total) / F;
    const kept = values.reduce((a, v) => a + v, 0);
    const rest = F > k ? Math.max(0, total - kept) / (F - k) : 0;
    return new DomainDetector(
      F,
      mean,
      vectors,
      Float64Array.from(values, (v) => v + ridge),
      rest + ridge,
    );
  }

  /** Writes the weights file and returns the entry that names it in domain.json. */
  async saveWeights(path: string, name: string): Promise<DetectorEntry> {
    const F = this.featureSize;
    const k = this.directions.length;
    const packed = new Float32Array(F + k * F + k);
    packed.set(this.mean, 0);
    this.directions.forEach((d, c) => packed.set(d, F + c * F));
    packed.set(this.variances, F + k * F);
    await writeFile(path, Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength));
    return { featureSize: F, components: k, residualVariance: this.residualVariance, threshold: this.threshold, weights: name };
  }

  /** A detector from its entry in `file` (domain.json) and its weights beside it. */
  static async fromEntry(entry: Partial<DetectorEntry> | undefined, file: string, where: string): Promise<DomainDetector> {
    const errors: string[] = [];
    const e = entry ?? {};
    if (entry === undefined || typeof entry !== 'object') errors.push(`${where} must be an object`);
    const positive = (v: unknown, name: string) => {
      if (typeof v !== 'number' || !(v > 0)) errors.push(`${where}.${name} must be a positive number, got ${JSON.stringify(v)}`);
    };
    positive(e.featureSize, 'featureSize');
    positive(e.components, 'components');
    positive(e.residualVariance, 'residualVariance');
    positive(e.threshold, 'threshold');
    if (typeof e.weights !== 'string' || e.weights === '') errors.push(`${where}.weights must name the weights file`);
    if (errors.length) throw new Error(`${file}: ${errors.join('; ')}`);
    const F = e.featureSize!;
    const k = e.components!;
    const path = join(dirname(file), e.weights!);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new Error(`${path}: domain detector weights unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const expected = (F + k * F + k) * 4;
    if (bytes.byteLength !== expected) throw new Error(`${path}: expected ${expected} bytes (${F} features, ${k} directions), found ${bytes.byteLength}`);
    const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const mean = Float64Array.from(floats.subarray(0, F));
    const directions = Array.from({ length: k }, (_, c) => Float64Array.from(floats.subarray(F + c * F, F + (c + 1) * F)));
    const variances = Float64Array.from(floats.subarray(F + k * F));
    if (variances.some((v) => !(v > 0))) throw new Error(`${path}: variances must be positive`);
    return new DomainDetector(F, mean, directions, variances, e.residualVariance!, e.threshold!);
  }
}

/** The three checks together, as a captioner uses them (see the header). */
export class DomainModel {
  constructor(
    readonly features: DomainDetector,
    readonly stretched: DomainDetector,
    /** Luma deviations under this are flat. */
    public minContrast: number,
    public calibration?: DomainCalibration,
    /** Over the plain and stretched features side by side [2F]; detectors fitted before it have none. */
    readonly joint?: DomainDetector,
  ) {}

  /** The joint check's distance of a frame from its plain and stretched features, when there is one. */
  jointDistance(plain: ArrayLike<number>, stretched: ArrayLike<number>): number | undefined {
    if (!this.joint) return undefined;
    const both = new Float32Array(plain.length + stretched.length);
    both.set(plain);
    both.set(stretched, plain.length);
    return this.joint.distance(both);
  }

  get featureSize(): number {
    return this.features.featureSize;
  }

  /** The verdict on one frame from its two distances and its luma deviation. */
  judge(featureDistance: number, stretchedDistance: number, contrast: number, jointDistance?: number): DomainVerdict {
    const ratios: [DomainCheck, number][] = [
      ['features', featureDistance / this.features.threshold],
      ['stretched', stretchedDistance / this.stretched.threshold],
      ...(this.joint && jointDistance !== undefined ? [['joint', jointDistance / this.joint.threshold] as [DomainCheck, number]] : []),
      // A perfectly flat frame would be infinitely flat: cap it.
      ['flat', contrast > 0 ? Math.min(99, this.minContrast / contrast) : 99],
    ];
    const [check, score] = ratios.reduce((a, b) => (b[1] > a[1] ? b : a));
    return score > 1 ? { outOfDomain: true, score, check } : { outOfDomain: false, score };
  }

  /** Writes domain.json and the two weights files beside it. */
  async save(file: string): Promise<void> {
    const dir = dirname(file);
    const base = basename(file).replace(/\.json$/, '');
    const json: DomainFile = {
      format: DOMAIN_FORMAT,
      method: 'mahalanobis-ppca',
      transform: 'sqrt',
      minContrast: this.minContrast,
      features: await this.features.saveWeights(join(dir, `${base}.bin`), `${base}.bin`),
      stretched: await this.stretched.saveWeights(join(dir, `${base}-stretched.bin`), `${base}-stretched.bin`),
      ...(this.joint && { joint: await this.joint.saveWeights(join(dir, `${base}-joint.bin`), `${base}-joint.bin`) }),
      calibration: this.calibration,
    };
    await writeFile(file, JSON.stringify(json, null, 2) + '\n');
  }

  static async load(file: string): Promise<DomainModel> {
    const json = (await readJsonFile(file, 'domain detector (the features the captioner was trained on)')) as Partial<DomainFile>;
    if (json.format !== DOMAIN_FORMAT) throw new Error(`${file}: format must be "${DOMAIN_FORMAT}", got ${JSON.stringify(json.format)}; run livecap domain again`);
    if (typeof json.minContrast !== 'number' || !(json.minContrast >= 0)) throw new Error(`${file}: minContrast must be a number from 0, got ${JSON.stringify(json.minContrast)}`);
    const features = await DomainDetector.fromEntry(json.features, file, 'features');
    const stretched = await DomainDetector.fromEntry(json.stretched, file, 'stretched');
    if (features.featureSize !== stretched.featureSize) throw new Error(`${file}: features and stretched detectors disagree on the feature size (${features.featureSize}, ${stretched.featureSize})`);
    const joint = json.joint === undefined ? undefined : await DomainDetector.fromEntry(json.joint, file, 'joint');
    if (joint && joint.featureSize !== 2 * features.featureSize)
      throw new Error(`${file}: the joint detector must take twice the feature size (${2 * features.featureSize}), not ${joint.featureSize}`);
    return new DomainModel(features, stretched, json.minContrast, json.calibration, joint);
  }
}

/**
 * The k leading eigenvectors and eigenvalues of the covariance of centred rows X (n × F), by
 * subspace iteration on X without forming the F × F covariance, then Rayleigh–Ritz.
 */
export function topEigen(X: readonly Float64Array[], k: number, iterations: number, rng: Rng): { vectors: Float64Array[]; values: number[] } {
  const n = X.length;
  const F = X[0]!.length;
  const m = Math.min(F, k + Math.max(8, Math.ceil(k / 4)));
  let Q = orthonormalise(Array.from({ length: m }, () => Float64Array.from({ length: F }, () => rng.next() - 0.5)));
  // Z = X Q (n × m), then Y = Xᵀ Z (m vectors of F): one multiplication by the covariance.
  const project = (basis: Float64Array[]): Float64Array[] => X.map((x) => Float64Array.from(basis, (q) => dot(x, q)));
  for (let it = 0; it < iterations; it++) {
    const Z = project(Q);
    const Y = Q.map(() => new Float64Array(F));
    for (let r = 0; r < n; r++) {
      const x = X[r]!;
      const z = Z[r]!;
      for (let c = 0; c < m; c++) {
        const w = z[c]!;
        const y = Y[c]!;
        for (let i = 0; i < F; i++) y[i]! += w * x[i]!;
      }
    }
    Q = orthonormalise(Y);
  }
  // B = Qᵀ C Q = Zᵀ Z / (n − 1), small: diagonalise it exactly.
  const Z = project(Q);
  const B = Array.from({ length: m }, (_, a) => Float64Array.from({ length: m }, (_, b) => Z.reduce((s, z) => s + z[a]! * z[b]!, 0) / (n - 1)));
  const { values, vectors } = jacobiEigen(B);
  const order = values
    .map((v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, k);
  return {
    values: order.map(([v]) => Math.max(0, v)),
    vectors: order.map(([, i]) => {
      const out = new Float64Array(F);
      for (let c = 0; c < m; c++) {
        const w = vectors[c]![i]!;
        const q = Q[c]!;
        for (let f = 0; f < F; f++) out[f]! += w * q[f]!;
      }
      return out;
    }),
  };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Modified Gram–Schmidt, twice for stability; a vector that vanishes is replaced by a zero vector. */
function orthonormalise(vectors: Float64Array[]): Float64Array[] {
  const out: Float64Array[] = [];
  for (const v0 of vectors) {
    const v = Float64Array.from(v0);
    for (let pass = 0; pass < 2; pass++) {
      for (const q of out) {
        const p = dot(v, q);
        for (let i = 0; i < v.length; i++) v[i]! -= p * q[i]!;
      }
    }
    const norm = Math.sqrt(dot(v, v));
    out.push(norm > 1e-12 ? v.map((x) => x / norm) : new Float64Array(v.length));
  }
  return out;
}

/** Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations; vectors[row][col] has eigenvector col. */
export function jacobiEigen(matrix: readonly Float64Array[]): { values: number[]; vectors: Float64Array[] } {
  const m = matrix.length;
  const A = matrix.map((row) => Float64Array.from(row));
  const V = Array.from({ length: m }, (_, i) => Float64Array.from({ length: m }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < m; p++) for (let q = p + 1; q < m; q++) off += A[p]![q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = A[p]![q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (A[q]![q]! - A[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < m; r++) {
          const arp = A[r]![p]!;
          const arq = A[r]![q]!;
          A[r]![p] = c * arp - s * arq;
          A[r]![q] = s * arp + c * arq;
        }
        for (let r = 0; r < m; r++) {
          const apr = A[p]![r]!;
          const aqr = A[q]![r]!;
          A[p]![r] = c * apr - s * aqr;
          A[q]![r] = s * apr + c * aqr;
        }
        for (let r = 0; r < m; r++) {
          const vrp = V[r]![p]!;
          const vrq = V[r]![q]!;
          V[r]![p] = c * vrp - s * vrq;
          V[r]![q] = s * vrp + c * vrq;
        }
      }
    }
  }
  return { values: A.map((row, i) => row[i]!), vectors: V };
}
