/**
 * The HTTP API's contract, once: what each request may carry (body, path, query, headers) and
 * what each answer holds. The routes (api-routes.ts) validate requests with these schemas and
 * the OpenAPI document (openapi.ts) is generated from them, so the two cannot disagree.
 *
 * Messages name their field and what was wrong ("limit must be a whole number ≥ 0, got '-1'");
 * a request with several bad fields hears of all of them at once (util/problems.ts).
 */
import { z } from '@hono/zod-openapi';
import type { AlertMessage, CaptionMessage, SummaryMessage } from '../core/events.js';
import type { RuleInfo as RuleInfoType, RuleSpec } from '../rules/rule.js';
import { MAX_RULE_REGEX } from '../rules/rule.js';
import { MAX_PROMPT_LENGTH, PROMPT_CONTROL_CHARACTERS, STREAM_ID } from '../core/stream-id.js';
import { shown } from '../util/problems.js';

// ---- requests ----

/** POST /api/streams: a stream to start. Whether the URL, captioner and prompt suit this server is the stream manager's to say. */
export const StreamRequest = z
  .object(
    {
      id: z
        .string({ error: (iss) => `stream id must be 1-64 letters, digits, '-' or '_', starting with a letter or digit; got ${shown(iss.input)}` })
        .regex(STREAM_ID, { error: (iss) => `stream id must be 1-64 letters, digits, '-' or '_', starting with a letter or digit; got ${shown(iss.input)}` })
        .openapi({ description: "1-64 letters, digits, '-' or '_', starting with a letter or digit" }),
      url: z
        .string({ error: (iss) => `stream url must be a string; got ${shown(iss.input)}` })
        .openapi({ description: 'rtsp://, http(s)://, /dev/videoN, testsrc://PATTERN, or a file under the media folder' }),
      captioner: z
        .string({ error: (iss) => `captioner must be the name of a captioner the server loaded; got ${shown(iss.input)}` })
        .optional()
        .openapi({ description: 'a captioner the server loaded: embedded, or a spec given to --captioner' }),
      prompt: z
        .string({ error: (iss) => `prompt must be a non-empty string; got ${shown(iss.input)}` })
        .refine((p) => p.trim() !== '', { error: (iss) => `prompt must be a non-empty string; got ${shown(iss.input)}` })
        .refine((p) => p.length <= MAX_PROMPT_LENGTH, { error: (iss) => `prompt must be at most ${MAX_PROMPT_LENGTH} characters; got ${(iss.input as string).length}` })
        .refine((p) => !PROMPT_CONTROL_CHARACTERS.test(p), { error: 'prompt must not contain control characters (line breaks and tabs are fine)' })
        .nullish()
        .transform((p) => p ?? undefined)
        .openapi({
          type: 'string',
          maxLength: MAX_PROMPT_LENGTH,
          description:
            "the stream's own prompt for a captioner that takes one: a Florence-2 task (<CAPTION>, <DETAILED_CAPTION>, <MORE_DETAILED_CAPTION>) or a prompt of its own, or a vision-language model server's prompt",
        }),
    },
    { error: (iss) => (iss.code === 'invalid_type' ? 'request body must be a JSON object with id and url, like {"id": "cam1", "url": "rtsp://…"}' : undefined) },
  )
  .openapi('StreamRequest');
export type StreamRequest = z.infer<typeof StreamRequest>;

export const StreamParams = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' }, description: 'the stream id' }) });

/** Live video's files: the playlists and the video segments. */
export const LiveParams = StreamParams.extend({
  file: z
    .string()
    .regex(/^(?:(?:index|video|captions|descriptions)\.m3u8|v\d{1,12}\.ts)$/, {
      error: (iss) => `live video has index.m3u8, video.m3u8, captions.m3u8, descriptions.m3u8 and vN.ts, not '${iss.input}'`,
    })
    .openapi({ param: { name: 'file', in: 'path' }, description: 'index.m3u8 (the multivariant playlist), video.m3u8, captions.m3u8, descriptions.m3u8, or a video segment vN.ts' }),
});

export const LiveCueParams = StreamParams.extend({
  track: z.enum(['captions', 'descriptions']).openapi({ param: { name: 'track', in: 'path' }, description: 'captions, or descriptions (summaries)' }),
  file: z
    .string()
    .regex(/^\d{1,12}\.vtt$/, { error: (iss) => `a subtitle segment is asked for as N.vtt (its video segment's sequence number), got '${iss.input}'` })
    .openapi({ param: { name: 'file', in: 'path' }, description: "N.vtt, where N is its video segment's media sequence number" }),
});

export const KeyframeParams = StreamParams.extend({
  file: z
    .string()
    .regex(/^[1-9]\d{0,14}\.jpg$/, { error: (iss) => `a keyframe is asked for as SEQ.jpg (the caption's seq), got '${iss.input}'` })
    .openapi({ param: { name: 'file', in: 'path' }, description: "SEQ.jpg, where SEQ is the caption's seq" }),
});

/** A query parameter's text: one value (a parameter given twice is an error that says so). */
const once = (name: string, otherwise?: string) => z.string({ error: (iss) => (Array.isArray(iss.input) ? `${name} is given more than once` : (otherwise ?? `${name} must be text`)) });

/** A whole number ≥ 0 in a query or header; `fallback` when absent or empty, `max` at most (larger ones are cut to it). */
function count(name: string, fallback: number | undefined, max: number, description: string) {
  return once(name)
    .optional()
    .refine((v) => v === undefined || v === '' || (Number.isInteger(Number(v)) && Number(v) >= 0), { error: (iss) => `${name} must be a whole number ≥ 0, got '${iss.input}'` })
    .transform((v) => (v === undefined || v === '' ? fallback : Math.min(Number(v), max)))
    .openapi({ type: 'integer', minimum: 0, maximum: max, description });
}

/** A time in a query: epoch milliseconds or an ISO 8601 date. */
function time(name: string, description: string) {
  const parse = (v: string) => (/^\d+$/.test(v) ? Number(v) : Date.parse(v));
  return once(name)
    .optional()
    .refine((v) => v === undefined || v === '' || Number.isFinite(parse(v)), { error: (iss) => `${name} must be epoch milliseconds or an ISO 8601 time, got '${iss.input}'` })
    .transform((v) => (v === undefined || v === '' ? undefined : parse(v)))
    .openapi({ type: 'string', description: `${description}: epoch milliseconds or ISO 8601` });
}

export const CaptionsQuery = z.object({
  since: count('since', 0, Number.MAX_SAFE_INTEGER, 'events after this seq'),
  limit: count('limit', 100, 1000, 'at most this many (default 100)'),
});

/** from after to is refused by the route, once the defaults are known (to: now). */
export const SubtitlesQuery = z.object({ from: time('from', 'start (default: an hour before the end)'), to: time('to', 'end (default: now)') });

export const EventsQuery = z.object({ since: count('since', undefined, Number.MAX_SAFE_INTEGER, 'the same as Last-Event-ID') });
export const EventsHeaders = z.object({ 'last-event-id': count('Last-Event-ID', undefined, Number.MAX_SAFE_INTEGER, 'resume after this seq') });

export const SearchQuery = z.object({
  q: once('q', 'q is required: the words to look for, e.g. /api/search?q=red+circle')
    .refine((q) => q.trim() !== '', { error: 'q is required: the words to look for, e.g. /api/search?q=red+circle' })
    .refine((q) => q.length <= 500, { error: 'q is over 500 characters' })
    .openapi({ maxLength: 500, description: 'the words to look for (all of them, stemmed)' }),
  stream: once('stream')
    .optional()
    .transform((s) => s || undefined)
    .openapi({ type: 'string', description: 'only this stream' }),
  from: time('from', 'not before'),
  to: time('to', 'not after'),
  limit: count('limit', 50, 500, 'at most this many (default 50)'),
});

/** Words or phrases of a rule: a string or a list of them. */
const phrases = (name: string) =>
  z
    .union([z.string(), z.array(z.string())], { error: (iss) => `${name} must be a word or phrase, or a list of them; got ${shown(iss.input)}` })
    .refine((v) => (typeof v === 'string' ? [v] : v).every((p) => p.trim() !== '' && p.length <= 200), { error: `${name}: each phrase must be 1-200 characters` })
    .refine((v) => typeof v === 'string' || (v.length >= 1 && v.length <= 100), { error: `${name} must list 1-100 phrases` })
    .openapi({ description: 'a word or phrase, or a list of them (stemmed as search stems them)' });

const RULE_ID_MESSAGE = (input: unknown) => `rule id must be 1-64 letters, digits, '-' or '_', starting with a letter or digit; got ${shown(input)}`;

/** A rule (rules/rule.ts): in the config file's `rules`, or sent to POST /api/rules and PUT /api/rules/:id. */
export const RuleRequest = z
  .strictObject(
    {
      id: z
        .string({ error: (iss) => RULE_ID_MESSAGE(iss.input) })
        .regex(STREAM_ID, { error: (iss) => RULE_ID_MESSAGE(iss.input) })
        .openapi({ description: "1-64 letters, digits, '-' or '_'" }),
      name: z
        .string({ error: (iss) => `name must be a string; got ${shown(iss.input)}` })
        .min(1, { error: 'name must not be empty' })
        .max(100, { error: 'name must be at most 100 characters' })
        .optional()
        .openapi({ description: 'a name for people (Home Assistant shows it); the id when absent' }),
      streams: z
        .array(z.string().regex(STREAM_ID, { error: (iss) => `streams: ${shown(iss.input)} is not a stream id` }), { error: (iss) => `streams must be a list of stream ids; got ${shown(iss.input)}` })
        .max(1000, { error: 'streams must list at most 1000 streams' })
        .optional()
        .openapi({ description: 'the streams it watches; every stream when absent' }),
      match: phrases('match').optional(),
      mode: z
        .enum(['any', 'all'], { error: (iss) => `mode must be 'any' or 'all'; got ${shown(iss.input)}` })
        .optional()
        .openapi({ description: 'any (default): one phrase is enough; all: every one' }),
      not: phrases('not').optional().openapi({ description: 'words or phrases that stop it: a text holding any never matches' }),
      regex: z
        .string({ error: (iss) => `regex must be a string; got ${shown(iss.input)}` })
        .min(1, { error: 'regex must not be empty' })
        .max(MAX_RULE_REGEX, { error: `regex must be at most ${MAX_RULE_REGEX} characters` })
        .optional()
        .openapi({ description: 'a regular expression (JavaScript, case-insensitive) the text must also match' }),
      on: z
        .array(z.enum(['caption', 'summary'], { error: (iss) => `on: ${shown(iss.input)} is neither 'caption' nor 'summary'` }), {
          error: (iss) => `on must be a list of 'caption' and 'summary'; got ${shown(iss.input)}`,
        })
        .min(1, { error: "on must list 'caption', 'summary' or both" })
        .optional()
        .openapi({ description: 'what it reads: captions (default), summaries, or both' }),
      cooldown: z
        .number({ error: (iss) => `cooldown must be a number of seconds; got ${shown(iss.input)}` })
        .min(0, { error: (iss) => `cooldown must be 0-86400 seconds; got ${shown(iss.input)}` })
        .max(86_400, { error: (iss) => `cooldown must be 0-86400 seconds; got ${shown(iss.input)}` })
        .optional()
        .openapi({ description: 'seconds after an alert before it may raise another on the same stream (default 60)' }),
      activeHours: z
        .strictObject(
          {
            from: z.string({ error: 'activeHours.from must be a time of day as HH:MM' }),
            to: z.string({ error: 'activeHours.to must be a time of day as HH:MM' }),
            timezone: z.string({ error: 'activeHours.timezone must be an IANA time zone such as Europe/Berlin' }).optional(),
          },
          {
            error: (iss) =>
              iss.code === 'unrecognized_keys' ? `activeHours: unknown field ${iss.keys.join(', ')} (known: from, to, timezone)` : 'activeHours must be {"from": "HH:MM", "to": "HH:MM"}',
          },
        )
        .optional()
        .openapi({ description: "only between these times of day (to may be past midnight), in a time zone (default: the server's)" }),
      enabled: z.boolean({ error: (iss) => `enabled must be true or false; got ${shown(iss.input)}` }).optional(),
    },
    {
      error: (iss) =>
        iss.code === 'unrecognized_keys'
          ? `unknown field ${iss.keys.join(', ')} (known: id, name, streams, match, mode, not, regex, on, cooldown, activeHours, enabled)`
          : iss.code === 'invalid_type'
            ? 'a rule must be a JSON object like {"id": "red-car", "match": "red car"}'
            : undefined,
    },
  )
  .openapi('RuleRequest');

export const RuleParams = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' }, description: 'the rule id' }) });

// ---- answers ----

export const ErrorBody = z.object({ error: z.string() }).openapi('Error');

export const StreamInfo = z
  .object({
    id: z.string(),
    url: z.string().openapi({ description: 'with any password replaced by ***' }),
    kind: z.string(),
    state: z.enum(['connecting', 'live', 'reconnecting', 'stalled', 'stopped', 'unassigned']).openapi({ description: 'unassigned: in a cluster, no worker runs the stream now' }),
    node: z.string().nullable().optional().openapi({ description: 'in a cluster (serve --cluster): the worker running the stream, or null' }),
    error: z.string().optional(),
    note: z.string().optional().openapi({ description: 'while live: the captioner does not recognise most of its scenes, and how to bring a real model' }),
    lastSeq: z.number().int(),
    captioner: z.string(),
    prompt: z.string().optional().openapi({ description: "the stream's own prompt for its captioner, when it has one" }),
    summaries: z.boolean().openapi({ description: 'whether video captions (summaries) are made for this stream' }),
    counters: z.record(z.string(), z.number().int()),
    degraded: z.string().optional().openapi({ description: 'why the stream works less well than it should (history not being written), while it lasts' }),
    saved: z.boolean().optional().openapi({ description: 'added over the API: it comes back after a restart' }),
  })
  .openapi('StreamInfo');

export const Caption = z
  .object({
    type: z.literal('caption'),
    stream: z.string(),
    seq: z.number().int(),
    ts: z.number().int(),
    frameTs: z.number().int(),
    text: z.string(),
    latencyMs: z.number(),
    keyframeUrl: z.string().optional().openapi({ description: 'where its keyframe (JPEG) is served, relative to the server, while the caption is kept; absent when none was stored' }),
    outOfDomain: z.boolean().optional().openapi({ description: 'the keyframe lies beyond what the captioner knows, so the text means nothing; absent when the captioner cannot tell' }),
  })
  .openapi('Caption');

export const Summary = z
  .object({ type: z.literal('summary'), stream: z.string(), seq: z.number().int(), ts: z.number().int(), from: z.number().int(), to: z.number().int(), text: z.string() })
  .openapi('Summary');

export const Alert = z
  .object({
    type: z.literal('alert'),
    stream: z.string(),
    seq: z.number().int(),
    ts: z.number().int(),
    rule: z.string().openapi({ description: "the rule's id" }),
    name: z.string().openapi({ description: "the rule's name for people (its id when it has none)" }),
    text: z.string().openapi({ description: 'the text that matched' }),
    captionSeq: z.number().int().openapi({ description: 'the seq of the caption (or summary, see on) that matched' }),
    on: z.enum(['caption', 'summary']),
    keyframeUrl: z.string().optional().openapi({ description: "the matching caption's keyframe, while that caption is kept" }),
  })
  .openapi('Alert');

export const Event = z.union([Caption, Summary, Alert]).openapi('Event');

// The schemas above describe the messages of core/events.ts: the compiler holds them together.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const captionsAgree: Same<z.infer<typeof Caption>, CaptionMessage> = true;
const summariesAgree: Same<z.infer<typeof Summary>, SummaryMessage> = true;
const alertsAgree: Same<z.infer<typeof Alert>, AlertMessage> = true;
void captionsAgree;
void summariesAgree;
void alertsAgree;

export const RuleInfo = RuleRequest.extend({
  source: z.enum(['config', 'api']).openapi({ description: 'config: from the config file (change it there); api: added over the API, kept in the store' }),
  firing: z.array(z.string()).openapi({ description: 'the streams where it matches now (the latest text it read there matched)' }),
  lastAlert: z.object({ stream: z.string(), seq: z.number().int(), ts: z.number().int() }).optional().openapi({ description: 'its last alert since the server started' }),
}).openapi('Rule');

const rulesAgree: Same<z.infer<typeof RuleRequest>, RuleSpec> = true;
const ruleInfoAgrees: Same<z.infer<typeof RuleInfo>, RuleInfoType> = true;
void rulesAgree;
void ruleInfoAgrees;

export const WebhookInfo = z
  .object({
    id: z.string(),
    url: z.string().openapi({ description: "the URL's origin only (the rest may hold a secret)" }),
    events: z.array(z.enum(['alert', 'caption', 'summary', 'status'])),
    streams: z.array(z.string()).optional(),
    delivered: z.number().int(),
    retries: z.number().int().openapi({ description: 'failed attempts that will be tried again' }),
    deadLetters: z.number().int().openapi({ description: 'deliveries given up since the server started' }),
    pending: z.number().int().openapi({ description: 'deliveries waiting in the outbox' }),
    lastError: z.string().optional().openapi({ description: 'why the oldest waiting delivery failed last' }),
    recentDeadLetters: z.array(z.object({ key: z.string(), created: z.number().int(), attempts: z.number().int(), error: z.string() })).openapi({ description: 'the newest 20 given up, kept a week' }),
  })
  .openapi('Webhook');

export const Readiness = z.object({
  ready: z.boolean(),
  checks: z.object({ models: z.string(), history: z.string() }),
  degraded: z.array(z.object({ stream: z.string(), reason: z.string() })),
});

export const ClusterNodeInfo = z
  .object({
    id: z.string(),
    role: z.enum(['all', 'worker', 'web']),
    capacity: z.number().int().openapi({ description: 'the most streams it runs (0 for a web node)' }),
    captioners: z.array(z.string()).openapi({ description: 'the captioners it runs streams with; the first is its default' }),
    streams: z.array(z.string()).openapi({ description: 'the streams whose lease it holds' }),
    startedAt: z.number().int().openapi({ description: 'ms since the epoch' }),
    lastHeartbeat: z.number().int().openapi({ description: 'ms since the epoch' }),
  })
  .openapi('ClusterNode');

export const ClusterInfo = z
  .object({
    cluster: z.boolean().openapi({ description: 'false: a single server, with no other node' }),
    node: z.string().nullable().openapi({ description: 'the node that answered' }),
    nodes: z.array(ClusterNodeInfo).openapi({ description: 'the nodes whose heartbeat has not run out' }),
  })
  .openapi('Cluster');
export type ClusterView = z.infer<typeof ClusterInfo>;

export const Health = z.object({ ok: z.boolean(), streams: z.number().int(), viewers: z.number().int() });
