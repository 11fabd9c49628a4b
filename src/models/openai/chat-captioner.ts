/**
 * A captioner that asks a vision-language model behind an OpenAI-compatible chat-completions
 * API (Ollama, vLLM, llama.cpp's server, LM Studio, NVIDIA NIM): each keyframe goes as a JPEG
 * data URL beside the prompt in `POST {baseUrl}/chat/completions`, and the caption is the first
 * line of `choices[0].message.content`.
 *
 *   const captioner = new OpenAiCaptioner(spec, { apiKey, timeoutMs: 30_000, encode: (f) => thumbnails.dataUrl(f) });
 *   const { text } = await captioner.caption(frame);
 *   await captioner.close();
 *
 * Nothing here runs on the event loop for long: the JPEG is made by `encode` (a worker thread in
 * the server), the request is asynchronous, and answers are read up to a size cap. Each request
 * has a deadline; 429, 5xx and network errors are tried again with exponential backoff (a
 * Retry-After header is honoured); every caption that fails for good rejects with a
 * `ModelServerError` naming the captioner, the step and the cause, which the pipeline shows in
 * the stream's status until the server answers again. Requests to one baseUrl share a limit of
 * how many are in flight at once, whichever streams and captioners send them (server-slots.ts).
 * The API key is sent only in the Authorization header and scrubbed from every error.
 */
import { scrubSecrets } from '../../util/redact.js';
import { OPENAI_DEFAULTS, openAiCaptionerName, type OpenAiCaptionerSpec } from './spec.js';
import { acquireSlots, type ServerSlots } from './server-slots.js';
import type { Frame } from '../../core/frame.js';
import type { Caption } from '../../core/caption.js';

/** A model server that failed a caption for good: no answer in time, an error status, or an answer without a caption. */
export class ModelServerError extends Error {
  override name = 'ModelServerError';
}

export interface OpenAiCaptionerOptions {
  /** The bearer token, when the server wants one. */
  apiKey?: string;
  /** One request's deadline, in ms, unless the spec sets `timeout`. */
  timeoutMs: number;
  /** The frame as a JPEG data URL, made off the event loop (e.g. `Thumbnailer.dataUrl`). */
  encode: (frame: Frame) => Promise<string>;
}

/** The most of an answer that is read; a caption is a sentence. */
const MAX_ANSWER_BYTES = 1 << 20;

/** A failed try: whether another may follow, and after how long the server asked to wait. */
class TryFailed extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export class OpenAiCaptioner {
  readonly name: string;
  private readonly url: string;
  private readonly timeoutMs: number;
  private readonly slots: ServerSlots;
  /** Aborted by close(): ends requests in flight and waits between tries. */
  private readonly closing = new AbortController();
  private closed = false;

  constructor(
    readonly spec: OpenAiCaptionerSpec,
    private readonly options: OpenAiCaptionerOptions,
  ) {
    this.name = openAiCaptionerName(spec);
    this.url = `${spec.baseUrl}/chat/completions`;
    this.timeoutMs = spec.timeout !== undefined ? spec.timeout * 1000 : options.timeoutMs;
    this.slots = acquireSlots(spec.baseUrl, spec.maxConcurrent ?? OPENAI_DEFAULTS.maxConcurrent);
  }

  /** Takes a prompt per caption (a stream's own), else the spec's. */
  readonly takesPrompt = true;

  async caption(frame: Frame, options: { prompt?: string } = {}): Promise<Caption> {
    if (this.closed) throw new ModelServerError(`captioner ${this.name}: closed`);
    let image: string;
    try {
      image = await this.options.encode(frame);
    } catch (err) {
      throw new ModelServerError(`captioner ${this.name}: encoding the keyframe failed: ${(err as Error).message}`);
    }
    const body = JSON.stringify({
      model: this.spec.model,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: options.prompt ?? this.spec.prompt ?? OPENAI_DEFAULTS.prompt },
            { type: 'image_url', image_url: { url: image } },
          ],
        },
      ],
      max_tokens: 100,
    });
    let backoffMs: number = OPENAI_DEFAULTS.backoffMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const text = await this.slots.run(() => this.send(body), this.closing.signal);
        // A chat answer carries no token probabilities: no confidence to give.
        return { text, score: 0 };
      } catch (err) {
        const failed = err instanceof TryFailed ? err : new TryFailed((err as Error).message, false);
        const tries = attempt + 1;
        if (!failed.retryable || attempt >= OPENAI_DEFAULTS.retries || this.closed) {
          throw new ModelServerError(this.scrub(`captioner ${this.name}: POST ${this.url} ${failed.message}${tries > 1 ? ` (after ${tries} tries)` : ''}`));
        }
        await sleep(Math.min(failed.retryAfterMs ?? backoffMs, OPENAI_DEFAULTS.maxBackoffMs), this.closing.signal);
        backoffMs *= 2;
      }
    }
  }

  /** One request; resolves with the caption, or rejects with a `TryFailed`. */
  private async send(body: string): Promise<string> {
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = AbortSignal.any([deadline, this.closing.signal]);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    let status: number;
    let answer: string;
    let retryAfter: string | null;
    try {
      const res = await fetch(this.url, { method: 'POST', headers, body, signal, redirect: 'error' });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      answer = await readCapped(res, MAX_ANSWER_BYTES);
    } catch (err) {
      if (err instanceof TryFailed) throw err;
      if (deadline.aborted) throw new TryFailed(`did not answer within ${this.timeoutMs / 1000} s`, false);
      if (this.closing.signal.aborted) throw new TryFailed('was cancelled: the captioner closed', false);
      const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new TryFailed(`failed: ${cause}`, true);
    }
    if (status !== 200) {
      const retryable = status === 429 || status >= 500;
      throw new TryFailed(`answered ${status}: ${oneLine(answer).slice(0, 200) || '(no body)'}`, retryable, retryable ? retryAfterMs(retryAfter) : undefined);
    }
    let content: unknown;
    try {
      content = (JSON.parse(answer) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;
    } catch {
      throw new TryFailed(`answered with something other than JSON: ${oneLine(answer).slice(0, 200)}`, false);
    }
    const text = typeof content === 'string' ? firstLine(content) : '';
    if (!text) throw new TryFailed('answered without a caption (choices[0].message.content is empty or missing)', false);
    return text;
  }

  private scrub(text: string): string {
    return this.options.apiKey ? scrubSecrets(text, [this.options.apiKey]) : text;
  }

  /** Ends requests in flight and releases this captioner's share of its server's slots. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    this.slots.release();
  }
}

/** The first non-empty line, whitespace collapsed: a caption is one line. */
function firstLine(text: string): string {
  return (text.split(/\r?\n/).find((l) => l.trim()) ?? '').replace(/\s+/g, ' ').trim();
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The body as text, at most `max` bytes; a longer one is an error (and is not read further). */
async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > max) throw new TryFailed(`answered with more than ${max} bytes`, false);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
