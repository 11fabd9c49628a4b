/**
 * How a vision-language model server is named as a captioner, in the config file and on the
 * command line, and the checks on it. Kept apart from the client so that settings can be
 * validated (every problem listed at once) without starting anything.
 *
 *   {"kind": "openai", "baseUrl": "http://127.0.0.1:11434/v1", "model": "llava:7b",
 *    "prompt": "…", "apiKeyEnv": "VLM_API_KEY", "timeout": 30, "maxConcurrent": 2}
 *   --captioner cam1=openai:llava:7b@http://127.0.0.1:11434/v1
 */
import { z } from 'zod';
import { problemsOf, shown } from '../../util/problems.js';
import { redactUrl } from '../../util/redact.js';

export interface OpenAiCaptionerSpec {
  kind: 'openai';
  /** The API root, up to and including `/v1`: requests go to `{baseUrl}/chat/completions`. */
  baseUrl: string;
  model: string;
  /** What the model is asked about each keyframe (default: `OPENAI_DEFAULTS.prompt`). */
  prompt?: string;
  /** The environment variable that holds the API key (sent as a bearer token); none: no key. */
  apiKeyEnv?: string;
  /** Seconds one request may take (default: the server's model timeout). */
  timeout?: number;
  /** Requests in flight at once to this baseUrl, over every stream using it (default 2). */
  maxConcurrent?: number;
}

export const OPENAI_DEFAULTS = {
  prompt: 'Describe what this camera shows in one short sentence.',
  maxConcurrent: 2,
  /** Tries after the first, on 429, 5xx and network errors. */
  retries: 3,
  /** The first backoff, doubled after each try; a Retry-After header replaces it. */
  backoffMs: 500,
  /** The longest wait between tries, Retry-After included. */
  maxBackoffMs: 30_000,
} as const;

const isHttpUrl = (text: string) => {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
};

/** A model server as a captioner, in the config file's object form: the one schema of it. */
export const OpenAiCaptionerSchema = z.strictObject(
  {
    kind: z.literal('openai'),
    baseUrl: z
      .string({ error: 'baseUrl is missing (e.g. http://127.0.0.1:11434/v1)' })
      .min(1, { error: 'baseUrl is missing (e.g. http://127.0.0.1:11434/v1)' })
      .refine(isHttpUrl, { error: (iss) => `baseUrl must be an http:// or https:// URL, got '${redactUrl(String(iss.input))}'` })
      .transform((url) => url.replace(/\/+$/, '')),
    model: z.string({ error: 'model is missing (the name the server knows the model by)' }).min(1, { error: 'model is missing (the name the server knows the model by)' }),
    prompt: z
      .string({ error: 'prompt must be a non-empty string' })
      .refine((p) => p.trim() !== '', { error: 'prompt must be a non-empty string' })
      .optional(),
    apiKeyEnv: z.string({ error: 'apiKeyEnv must name an environment variable' }).min(1, { error: 'apiKeyEnv must name an environment variable' }).optional(),
    timeout: z
      .number({ error: (iss) => `timeout must be above 0 and at most 3600 seconds, got ${shown(iss.input)}` })
      .refine((t) => t > 0 && t <= 3600, { error: (iss) => `timeout must be above 0 and at most 3600 seconds, got ${shown(iss.input)}` })
      .optional(),
    maxConcurrent: z
      .number({ error: (iss) => `maxConcurrent must be a whole number above 0, got ${shown(iss.input)}` })
      .refine((n) => Number.isInteger(n) && n > 0, { error: (iss) => `maxConcurrent must be a whole number above 0, got ${shown(iss.input)}` })
      .optional(),
  },
  { error: (iss) => (iss.code === 'unrecognized_keys' ? 'unknown setting (known: kind, baseUrl, model, prompt, apiKeyEnv, timeout, maxConcurrent)' : undefined) },
);

/** The name a stream's info and the API use for this captioner: `openai:MODEL@BASEURL`, any secret in the URL hidden. */
export function openAiCaptionerName(spec: Pick<OpenAiCaptionerSpec, 'model' | 'baseUrl'>): string {
  return `openai:${spec.model}@${redactUrl(spec.baseUrl)}`;
}

/** True for the command-line form `openai:MODEL@BASEURL`. */
export function isOpenAiFlag(text: string): boolean {
  return text.startsWith('openai:');
}

/**
 * Checks a captioner object from the config file, or the flag form `openai:MODEL@BASEURL` (the
 * model name may hold ':' but not '@'). Returns the spec, or every problem found.
 */
export function checkOpenAiSpec(value: unknown, env: NodeJS.ProcessEnv): { spec?: OpenAiCaptionerSpec; problems: string[] } {
  let v: Record<string, unknown>;
  if (typeof value === 'string') {
    const rest = value.slice('openai:'.length);
    const at = rest.indexOf('@');
    if (at <= 0) return { problems: ['must be openai:MODEL@BASEURL, e.g. openai:llava:7b@http://127.0.0.1:11434/v1'] };
    v = { kind: 'openai', model: rest.slice(0, at), baseUrl: rest.slice(at + 1) };
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    v = value as Record<string, unknown>;
  } else {
    return { problems: [`must be a captioner spec string or an object with a kind, got ${JSON.stringify(value)}`] };
  }
  if (v.kind !== 'openai') return { problems: [`unknown captioner kind ${JSON.stringify(v.kind)} (known: openai)`] };
  const result = OpenAiCaptionerSchema.safeParse(v);
  // The key itself stays in the environment; only that it is there is checked.
  const apiKeyEnv = typeof v.apiKeyEnv === 'string' ? v.apiKeyEnv : undefined;
  const problems = [...(result.success ? [] : problemsOf(result.error)), ...(apiKeyEnv && !env[apiKeyEnv] ? [`apiKeyEnv names ${apiKeyEnv}, which is not set`] : [])];
  if (problems.length || !result.success) return { problems };
  return { spec: result.data, problems };
}
