/**
 * Runs an exported decoder one step at a time for search.ts, owning its key/value cache.
 *
 * merged    first step: empty past, use_cache_branch=false (cross-attention keys and values
 *           are computed from the encoder output); later steps: only the newest token, the
 *           previous step's `present.*` as `past_key_values.*`, use_cache_branch=true
 * split     the same with decoder_model.onnx for the first step and decoder_with_past_model.onnx
 *           after it (that file does not return the cross-attention cache; the first one is kept)
 * uncached  every step reruns the whole sequence so far: the cost grows with the output length
 * Beam search reorders rows between steps; the cache rows are gathered to follow them.
 * A decoder that reads `inputs_embeds` (Florence-2) gets its tokens through the export's
 * embed_tokens session first.
 */
import type { OnnxSession, OnnxTensor } from '../onnx/runtime.js';
import type { Stepper } from './search.js';

export interface CacheShape {
  heads: number;
  headDim: number;
}

export interface DecoderSessions {
  kind: 'merged' | 'split' | 'uncached';
  first: OnnxSession;
  /** The with-past session of the split layout. */
  withPast?: OnnxSession;
  /** input_ids → inputs_embeds, for decoders that read embeddings (Florence-2). */
  embed?: OnnxSession;
}

export interface EncoderOutput {
  /** [1, S, D] */
  states: OnnxTensor & { type: 'float32' };
  /** [1, S] int64, present for text encoders */
  mask?: OnnxTensor & { type: 'int64' };
}

function tile(data: Float32Array, rows: number): Float32Array;
function tile(data: BigInt64Array, rows: number): BigInt64Array;
function tile(data: Float32Array | BigInt64Array, rows: number): Float32Array | BigInt64Array {
  const out = data instanceof Float32Array ? new Float32Array(data.length * rows) : new BigInt64Array(data.length * rows);
  for (let r = 0; r < rows; r++) (out as Float32Array).set(data as Float32Array, r * data.length);
  return out;
}

function gatherRows(t: OnnxTensor & { type: 'float32' }, parents: readonly number[]): OnnxTensor & { type: 'float32' } {
  const rowSize = t.data.length / t.dims[0]!;
  const out = new Float32Array(parents.length * rowSize);
  parents.forEach((p, r) => out.set(t.data.subarray(p * rowSize, (p + 1) * rowSize), r * rowSize));
  return { type: 'float32', data: out, dims: [parents.length, ...t.dims.slice(1)] };
}

const isIdentity = (parents: readonly number[]) => parents.every((p, i) => p === i);

/** What a decoder session takes and what a step needs back from it, worked out once. */
interface SessionPlan {
  session: OnnxSession;
  pastNames: string[];
  takes: Record<'encoder_hidden_states' | 'encoder_attention_mask' | 'attention_mask' | 'position_ids' | 'use_cache_branch', boolean>;
  /**
   * Outputs to fetch once the cache is filled: the cross-attention presents only pass the
   * past back unchanged, so copying them out every step would be waste; undefined: all.
   */
  laterFetch?: string[];
}

function plan(session: OnnxSession, kind: DecoderSessions['kind']): SessionPlan {
  const has = (n: string) => session.inputNames.includes(n);
  return {
    session,
    pastNames: session.inputNames.filter((n) => n.startsWith('past_key_values.')),
    takes: {
      encoder_hidden_states: has('encoder_hidden_states'),
      encoder_attention_mask: has('encoder_attention_mask'),
      attention_mask: has('attention_mask'),
      position_ids: has('position_ids'),
      use_cache_branch: has('use_cache_branch'),
    },
    laterFetch: kind === 'uncached' ? ['logits'] : session.outputNames.filter((n) => !(n.startsWith('present.') && n.includes('.encoder.'))),
  };
}

/** Runs an embed_tokens session: input_ids [B, T] → inputs_embeds [B, T, D]. */
export async function embedTokens(session: OnnxSession, ids: OnnxTensor): Promise<OnnxTensor & { type: 'float32' }> {
  const { inputs_embeds: out } = await session.run({ input_ids: ids }, ['inputs_embeds']);
  if (out?.type !== 'float32') throw new Error(`${session.path}: returned no float inputs_embeds`);
  return out;
}

export class OnnxDecoderStepper implements Stepper {
  private past = new Map<string, OnnxTensor & { type: 'float32' }>();
  private sequences: number[][] = [];
  private steps = 0;
  private readonly states: OnnxTensor;
  private readonly mask: OnnxTensor | undefined;
  private readonly firstPlan: SessionPlan;
  private readonly withPastPlan: SessionPlan | undefined;

  constructor(
    private readonly sessions: DecoderSessions,
    encoder: EncoderOutput,
    private readonly rows: number,
    readonly vocabSize: number,
    private readonly cache: CacheShape,
  ) {
    const [, s, d] = encoder.states.dims as [number, number, number];
    this.states = { type: 'float32', data: tile(encoder.states.data, rows), dims: [rows, s, d] };
    this.mask = encoder.mask ? { type: 'int64', data: tile(encoder.mask.data, rows), dims: [rows, encoder.mask.dims[1]!] } : undefined;
    this.firstPlan = plan(sessions.first, sessions.kind);
    this.withPastPlan = sessions.withPast && plan(sessions.withPast, sessions.kind);
  }

  async step(tokens: readonly number[], parents?: readonly number[]): Promise<Float32Array> {
    if (tokens.length !== this.rows) throw new Error(`decoder step got ${tokens.length} tokens for ${this.rows} rows`);
    const reorder = parents && !isIdentity(parents) ? parents : undefined;
    const cached = this.sessions.kind !== 'uncached';
    if (!cached) {
      // Without a cache every step feeds each row's whole sequence, so the rows are tracked here.
      if (reorder) this.sequences = reorder.map((p) => this.sequences[p]!);
      this.sequences = tokens.map((t, r) => [...(this.sequences[r] ?? []), t]);
    }
    const p = this.steps > 0 && this.withPastPlan ? this.withPastPlan : this.firstPlan;
    const { session, takes } = p;

    const ids = cached ? tokens.map(BigInt) : this.sequences.flatMap((s) => s.map(BigInt));
    const idTensor: OnnxTensor = { type: 'int64', data: BigInt64Array.from(ids), dims: [this.rows, cached ? 1 : this.sequences[0]!.length] };
    const feeds: Record<string, OnnxTensor> = {};
    if (this.sessions.embed) feeds.inputs_embeds = await embedTokens(this.sessions.embed, idTensor);
    else feeds.input_ids = idTensor;
    if (takes.encoder_hidden_states) feeds.encoder_hidden_states = this.states;
    if (this.mask && takes.encoder_attention_mask) feeds.encoder_attention_mask = this.mask;
    for (const name of p.pastNames) {
      let t = this.past.get(name);
      if (reorder && t && !name.includes('.encoder.')) t = gatherRows(t, reorder);
      feeds[name] = t ?? { type: 'float32', data: new Float32Array(0), dims: [this.rows, this.cache.heads, 0, this.cache.headDim] };
    }
    // GPT-2 style decoders take a mask over every token so far, and some take positions.
    const fed = cached ? this.steps + 1 : this.sequences[0]!.length;
    if (takes.attention_mask) feeds.attention_mask = { type: 'int64', data: new BigInt64Array(this.rows * fed).fill(1n), dims: [this.rows, fed] };
    if (takes.position_ids) {
      const width = cached ? 1 : fed;
      feeds.position_ids = { type: 'int64', data: BigInt64Array.from({ length: this.rows * width }, (_, i) => BigInt(fed - width + (i % width))), dims: [this.rows, width] };
    }
    if (takes.use_cache_branch) feeds.use_cache_branch = { type: 'bool', data: Uint8Array.of(this.steps > 0 ? 1 : 0), dims: [1] };

    // The first step of a cached layout fetches everything: its cross-attention presents are kept.
    const out = await session.run(feeds, cached && this.steps === 0 ? undefined : p.laterFetch);
    this.steps++;
    if (cached) {
      // Keep each present as the next step's past; the cross-attention cache (not fetched after
      // the first step, not returned by the split layout's with-past model) stays as it was.
      for (const [name, value] of Object.entries(out)) {
        if (name.startsWith('present') && value.type === 'float32') this.past.set(name.replace(/^present/, 'past_key_values'), value);
      }
    }
    const logits = out.logits;
    if (logits?.type !== 'float32') throw new Error(`${session.path}: the decoder returned no float logits`);
    const [rows, length, vocab] = logits.dims as [number, number, number];
    if (vocab !== this.vocabSize) throw new Error(`${session.path}: logits have ${vocab} entries per token, the model config says ${this.vocabSize}`);
    if (length === 1) return logits.data;
    const last = new Float32Array(rows * vocab);
    for (let r = 0; r < rows; r++) last.set(logits.data.subarray((r * length + length - 1) * vocab, (r * length + length) * vocab), r * vocab);
    return last;
  }
}
