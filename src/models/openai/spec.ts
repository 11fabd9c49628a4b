/**
 * How a vision-language model server is named as a captioner, in the config file and on the
 * command line, and the checks on it. Kept apart from the client so that settings can be
 * validated (every problem listed at once) without starting anything.
 *
 *   {"kind": "openai", "baseUrl": "http://127.0.0.1:11434/v1", "model": "llava:7b",
 *    "prompt": "…", "apiKeyEnv": "VLM_API_KEY", "timeout": 30, "maxConcurrent": 2}
 *   --captioner cam1=openai:llava:7b@http://127.0.0.1:11434/v1
 */
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

const KEYS = ['kind', 'baseUrl', 'model', 'prompt', 'apiKeyEnv', 'timeout', 'maxConcurrent'];

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
  const problems: string[] = [];
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
  for (const key of Object.keys(v)) if (!KEYS.includes(key)) problems.push(`unknown setting '${key}' (known: ${KEYS.join(', ')})`);
  const { baseUrl, model, prompt, apiKeyEnv, timeout, maxConcurrent } = v;
  if (typeof baseUrl !== 'string' || !baseUrl) problems.push('baseUrl is missing (e.g. http://127.0.0.1:11434/v1)');
  else {
    let url: URL | undefined;
    try {
      url = new URL(baseUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) problems.push(`baseUrl must be an http:// or https:// URL, got '${redactUrl(baseUrl)}'`);
  }
  if (typeof model !== 'string' || !model) problems.push('model is missing (the name the server knows the model by)');
  if (prompt !== undefined && (typeof prompt !== 'string' || !prompt.trim())) problems.push('prompt must be a non-empty string');
  if (apiKeyEnv !== undefined) {
    if (typeof apiKeyEnv !== 'string' || !apiKeyEnv) problems.push('apiKeyEnv must name an environment variable');
    else if (!env[apiKeyEnv]) problems.push(`apiKeyEnv names ${apiKeyEnv}, which is not set`);
  }
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0 && timeout <= 3600)) problems.push(`timeout must be above 0 and at most 3600 seconds, got ${JSON.stringify(timeout)}`);
  if (maxConcurrent !== undefined && !(typeof maxConcurrent === 'number' && Number.isInteger(maxConcurrent) && maxConcurrent > 0))
    problems.push(`maxConcurrent must be a whole number above 0, got ${JSON.stringify(maxConcurrent)}`);
  if (problems.length) return { problems };
  return { spec: { ...(v as object), kind: 'openai', baseUrl: (baseUrl as string).replace(/\/+$/, ''), model: model as string } as OpenAiCaptionerSpec, problems };
}
