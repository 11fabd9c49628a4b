/**
 * What a WebSocket viewer may send (docs/protocol.md), once, as a schema: the hub reads every
 * message through it, and a message with several bad fields hears of all of them in one
 * `error` whose code names the first (`unknown_type`, `bad_streams`, `bad_since`, `bad_message`).
 *
 *   {"type": "subscribe", "streams": ["demo"], "since": {"demo": 12}}
 *   {"type": "unsubscribe", "streams": ["demo"]}
 */
import { z } from 'zod';
import { problemsOf, shown } from '../util/problems.js';

/** The most streams one message may name. */
export const MAX_STREAMS_PER_MESSAGE = 256;

const STREAMS = 'streams must be an array of stream ids';

const Since = z
  .record(z.string(), z.unknown(), { error: 'since must be an object of stream id → seq' })
  .superRefine((since, ctx) => {
    const bad = Object.entries(since).filter(([, seq]) => !(typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0));
    if (!bad.length) return;
    const listed = bad
      .slice(0, 5)
      .map(([id, seq]) => `${JSON.stringify(id)}: ${shown(seq)}`)
      .join(', ');
    ctx.addIssue({ code: 'custom', message: `since values must be whole numbers ≥ 0 (the last seq the client has); got ${listed}${bad.length > 5 ? ', …' : ''}` });
  })
  .transform((since) => since as Record<string, number>);

export const ViewerRequest = z.object(
  {
    type: z.enum(['subscribe', 'unsubscribe'], { error: (iss) => `unknown message type ${shown(iss.input)}; expected subscribe or unsubscribe` }),
    streams: z.array(z.string({ error: STREAMS }), { error: STREAMS }).max(MAX_STREAMS_PER_MESSAGE, { error: `${STREAMS}, at most ${MAX_STREAMS_PER_MESSAGE}` }),
    /** For subscribe: resume each named stream after this seq. */
    since: Since.optional(),
  },
  { error: (iss) => (iss.code === 'invalid_type' ? 'message must be a JSON object with a type' : undefined) },
);
export type ViewerRequest = z.infer<typeof ViewerRequest>;

const CODES: Record<string, string> = { type: 'unknown_type', streams: 'bad_streams', since: 'bad_since' };

/** A viewer's message read, or the error to answer it with. */
export function readViewerRequest(msg: unknown): { request: ViewerRequest } | { code: string; message: string } {
  const result = ViewerRequest.safeParse(msg);
  if (result.success) return { request: result.data };
  const first = result.error.issues[0]?.path[0];
  const messages = [...new Set(problemsOf(result.error))];
  return { code: CODES[String(first)] ?? 'bad_message', message: messages.join('; ') };
}
