/**
 * How text is generated: the options of a Hugging Face `generation_config.json` that livecap
 * honours, their defaults, and how a model folder's files and a caller's overrides combine.
 * Precedence: override > generation_config.json > config.json > Hugging Face's defaults.
 */
import { z } from 'zod';

export interface GenerationOptions {
  /** Longest output in tokens, the decoder start token included (Hugging Face's `max_length`). */
  maxLength: number;
  /** Shortest output, the start token included: end-of-sequence is banned before it. */
  minLength: number;
  /** 1 is greedy search. */
  numBeams: number;
  /** Beam scores are divided by (generated length ^ lengthPenalty): > 1 favours longer outputs. */
  lengthPenalty: number;
  /** No n-gram of this size appears twice (0 turns it off). */
  noRepeatNgramSize: number;
  /** Beam search stops as soon as `numBeams` finished outputs exist. */
  earlyStopping: boolean;
  decoderStartTokenId: number;
  eosTokenId: number;
  padTokenId: number;
  /** Forced as the first generated token, as BART summarizers expect. */
  forcedBosTokenId?: number;
  /** Forced as the last token when the maximum length is reached. */
  forcedEosTokenId?: number;
}

export type GenerationOverrides = Partial<GenerationOptions>;

const FIELDS: Record<keyof GenerationOptions, string> = {
  maxLength: 'max_length',
  minLength: 'min_length',
  numBeams: 'num_beams',
  lengthPenalty: 'length_penalty',
  noRepeatNgramSize: 'no_repeat_ngram_size',
  earlyStopping: 'early_stopping',
  decoderStartTokenId: 'decoder_start_token_id',
  eosTokenId: 'eos_token_id',
  padTokenId: 'pad_token_id',
  forcedBosTokenId: 'forced_bos_token_id',
  forcedEosTokenId: 'forced_eos_token_id',
};

const DEFAULTS = { maxLength: 20, minLength: 0, numBeams: 1, lengthPenalty: 1, noRepeatNgramSize: 0, earlyStopping: false };

function pick(sources: Record<string, unknown>[], field: string): unknown {
  for (const s of sources) {
    const v = s[field];
    // eos_token_id may be a list in newer exports; the first entry is the one that ends text.
    if (Array.isArray(v)) return v[0];
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}

/**
 * Resolves the options for a model folder. `where` names the folder in errors.
 *
 *   resolveGeneration(generationConfig, config, { numBeams: 1 }, 'models/summarizer-synth')
 */
export function resolveGeneration(generationConfig: Record<string, unknown>, config: Record<string, unknown>, overrides: GenerationOverrides, where: string): GenerationOptions {
  const sources = [generationConfig, config];
  const out: Record<string, unknown> = { ...DEFAULTS };
  for (const [key, field] of Object.entries(FIELDS)) {
    const v = pick(sources, field);
    if (v !== undefined) out[key] = v;
  }
  for (const [key, v] of Object.entries(overrides)) if (v !== undefined) out[key] = v;
  // early_stopping may be "never" in Hugging Face's files; livecap treats it as false.
  if (typeof out.earlyStopping === 'string') out.earlyStopping = false;
  const problems: string[] = [];
  for (const key of ['decoderStartTokenId', 'eosTokenId'] as const) {
    if (typeof out[key] !== 'number') problems.push(`${FIELDS[key]} is missing from generation_config.json and config.json`);
  }
  if (out.padTokenId === undefined) out.padTokenId = out.eosTokenId;
  const o = out as unknown as GenerationOptions;
  problems.push(...rangeProblems(o));
  if (problems.length) throw new Error(`${where}: ${problems.join('; ')}`);
  return o;
}

/** Options with a caller's per-call overrides applied, checked as a folder's options are. */
export function applyOverrides(base: GenerationOptions, overrides: GenerationOverrides, where: string): GenerationOptions {
  const o = { ...base, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) } as GenerationOptions;
  const problems = rangeProblems(o);
  if (problems.length) throw new Error(`${where}: ${problems.join('; ')}`);
  return o;
}

const integer = (field: string, min: number) => z.unknown().refine((v) => Number.isInteger(v) && (v as number) >= min, { error: (iss) => `${field} must be an integer ≥ ${min}, got ${iss.input}` });

/** The ranges every resolved option must be in: the one schema of generation options. */
const GenerationRanges = z.object({
  maxLength: integer('max_length', 2),
  minLength: integer('min_length', 0),
  numBeams: integer('num_beams', 1),
  noRepeatNgramSize: integer('no_repeat_ngram_size', 0),
  lengthPenalty: z.unknown().refine((v) => typeof v === 'number' && Number.isFinite(v), { error: (iss) => `length_penalty must be a number, got ${iss.input}` }),
});

function rangeProblems(o: GenerationOptions): string[] {
  const result = GenerationRanges.safeParse(o);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
}
