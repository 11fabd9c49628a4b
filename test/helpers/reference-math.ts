/**
 * The arithmetic the plain-JavaScript reference models share (bart-reference.ts,
 * vit-gpt2-reference.ts), in float64 loops with no ONNX and no TensorFlow.js.
 */
export type Vec = Float64Array;

/** erf by its series for small |x| and a continued fraction beyond: accurate to ~1e-12. */
export function erf(x: number): number {
  const sign = Math.sign(x);
  const a = Math.abs(x);
  if (a < 2.5) {
    let sum = a;
    let term = a;
    for (let n = 1; n < 60; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return (sign * 2 * sum) / Math.sqrt(Math.PI);
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (a + f);
  return sign * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f));
}

export function layerNorm(x: Vec, gain: Float32Array, bias: Float32Array, eps: number): Vec {
  const mean = x.reduce((a, v) => a + v, 0) / x.length;
  const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * gain[i]! + bias[i]!);
}

/**
 * Multi-head attention over already projected (and scaled) queries, keys and values:
 * softmax(q · k) · v per head; `visible(t, s)` says whether query t sees key s.
 */
export function attend(qs: Vec[], ks: Vec[], vs: Vec[], heads: number, visible: (t: number, s: number) => boolean): Vec[] {
  const d = qs[0]!.length;
  const hd = d / heads;
  return qs.map((q, t) => {
    const ctx = new Float64Array(d);
    for (let h = 0; h < heads; h++) {
      const scores = ks.map((k, s) => {
        if (!visible(t, s)) return -Infinity;
        let dot = 0;
        for (let i = h * hd; i < (h + 1) * hd; i++) dot += q[i]! * k[i]!;
        return dot;
      });
      const max = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - max));
      const z = e.reduce((a, b) => a + b, 0);
      e.forEach((p, s) => {
        for (let i = h * hd; i < (h + 1) * hd; i++) ctx[i]! += (p / z) * vs[s]![i]!;
      });
    }
    return ctx;
  });
}

/** y = W x + b with W [out, in] row-major (a PyTorch Linear layer). */
export function linear(x: Vec, W: Float32Array, b: Float32Array): Vec {
  return Float64Array.from(b, (bias, o) => {
    let s = bias;
    for (let i = 0; i < x.length; i++) s += W[o * x.length + i]! * x[i]!;
    return s;
  });
}

/** Named weights of a reference model, and the linear layers that read them. */
export class ReferenceWeights {
  constructor(private readonly weights: Record<string, { data: Float32Array }>) {}

  protected p(name: string): Float32Array {
    const t = this.weights[name];
    if (!t) throw new Error(`missing ${name}`);
    return t.data;
  }

  /** A PyTorch Linear layer by name: `${name}.weight` [out, in] and `${name}.bias`. */
  protected linear(x: Vec, name: string): Vec {
    return linear(x, this.p(`${name}.weight`), this.p(`${name}.bias`));
  }
}
