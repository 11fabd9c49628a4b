/**
 * Every HTTP route the server answers, as data: method, path, what the request carries and
 * every answer it can get. app.ts attaches the handlers; the OpenAPI document at /openapi.json
 * is generated from these (openapi.ts); the tests check that each documented answer is given
 * and each given answer documented.
 */
import { createRoute, z } from '@hono/zod-openapi';
import {
  CaptionsQuery,
  ClusterInfo,
  ErrorBody,
  Event,
  EventsHeaders,
  EventsQuery,
  Health,
  KeyframeParams,
  LiveCueParams,
  LiveParams,
  Readiness,
  RuleInfo,
  RuleParams,
  RuleRequest,
  SearchQuery,
  WebhookInfo,
  StreamInfo,
  StreamParams,
  StreamRequest,
  SubtitlesQuery,
} from './api-schemas.js';

const json = <T extends z.ZodType>(schema: T, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const text = (type: string, description: string) => ({ description, content: { [type]: { schema: z.string() } } });
const error = (description: string) => json(ErrorBody, description);
const retryAfter = z.object({ 'Retry-After': z.string().openapi({ description: 'seconds until it may try again', type: 'integer' }) });

// The answers of the cross-site rules and the token check (cross-site.ts, auth.ts).
const HOST = 'Host name not served: bound to a loopback address, the server answers only localhost, 127.0.0.1, [::1] and --allowed-host names';
const open = { 403: error(HOST) } as const;
const read = { 401: error('No valid token (only when viewer tokens are configured)'), 403: error(HOST) } as const;
const write = {
  401: error('No valid token (only when admin or viewer tokens are configured)'),
  403: error(`A viewer token where an admin token is needed; an Origin other than the server's own or a --cors-origin one; or: ${HOST}`),
} as const;
const noStream = { 404: error('No such stream') } as const;

export const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  summary: 'Liveness and counts',
  security: [],
  responses: { 200: json(Health), ...open },
});

export const readyRoute = createRoute({
  method: 'get',
  path: '/readyz',
  summary: 'Readiness: models loaded and history writable; lists streams whose history is not being written',
  security: [],
  responses: { 200: json(Readiness, 'Ready'), 503: json(Readiness, 'Not ready (history cannot be written, or a stream is degraded)'), ...open },
});

export const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  summary: 'Prometheus metrics',
  responses: { 200: text('text/plain', 'text exposition format'), ...read },
});

export const openApiRoute = createRoute({
  method: 'get',
  path: '/openapi.json',
  summary: 'This description',
  security: [],
  responses: { 200: json(z.object({}).passthrough()), ...open },
});

export const listStreamsRoute = createRoute({
  method: 'get',
  path: '/api/streams',
  summary: 'Running streams',
  responses: { 200: json(z.object({ streams: z.array(StreamInfo) })), ...read },
});

export const clusterRoute = createRoute({
  method: 'get',
  path: '/api/cluster',
  summary: 'The nodes of a cluster (serve --cluster): role, capacity, streams, last heartbeat',
  responses: { 200: json(ClusterInfo), ...read },
});

export const createStreamRoute = createRoute({
  method: 'post',
  path: '/api/streams',
  summary: 'Start a stream',
  request: { body: { required: true, content: { 'application/json': { schema: StreamRequest } } } },
  responses: {
    201: json(StreamInfo, 'Started'),
    400: error('Bad id, URL, captioner or prompt (also a prompt for a captioner that takes none), or a body that is not a JSON object; every bad field is named'),
    ...write,
    409: error('The id is in use'),
    413: error('Body over 16 KiB'),
    415: error('The body is not sent as Content-Type: application/json'),
    429: { ...error('Too many streams created from this address (only started ones count)'), headers: retryAfter },
    503: error('The server already runs its maximum of streams (--max-streams), or the history store cannot save the stream'),
  },
});

export const getStreamRoute = createRoute({
  method: 'get',
  path: '/api/streams/{id}',
  summary: 'One stream',
  request: { params: StreamParams },
  responses: { 200: json(StreamInfo), ...read, ...noStream },
});

export const deleteStreamRoute = createRoute({
  method: 'delete',
  path: '/api/streams/{id}',
  summary: 'Stop a stream (one added over the API for good)',
  request: { params: StreamParams },
  responses: { 204: { description: 'Stopped' }, ...write, ...noStream, 503: error('The history store cannot forget it') },
});

export const captionsRoute = createRoute({
  method: 'get',
  path: '/api/streams/{id}/captions',
  summary: 'History after a seq, oldest first',
  request: { params: StreamParams, query: CaptionsQuery },
  responses: { 200: json(z.object({ stream: z.string(), captions: z.array(Event) })), 400: error('Bad since or limit'), ...read, ...noStream },
});

const subtitlesRoute = (format: 'vtt' | 'srt') =>
  createRoute({
    method: 'get',
    path: `/api/streams/{id}/captions.${format}`,
    summary: `${format === 'vtt' ? 'WebVTT' : 'SubRip'} subtitles of a time range (default the last hour)`,
    request: { params: StreamParams, query: SubtitlesQuery },
    responses: {
      200: format === 'vtt' ? text('text/vtt', 'WebVTT') : text('application/x-subrip', 'SubRip'),
      400: error('Bad time, or from after to'),
      ...read,
      ...noStream,
    },
  });
export const webVttRoute = subtitlesRoute('vtt');
export const srtRoute = subtitlesRoute('srt');

export const keyframeRoute = createRoute({
  method: 'get',
  path: '/api/streams/{id}/keyframes/{file}',
  summary: "A caption's keyframe (its event's keyframeUrl), kept as long as the caption; cacheable for good",
  request: { params: KeyframeParams },
  responses: {
    200: { description: 'JPEG', content: { 'image/jpeg': { schema: z.string().openapi({ format: 'binary' }) } } },
    304: { description: 'Not modified (If-None-Match)' },
    400: error('Not SEQ.jpg'),
    ...read,
    404: error('No such stream, or no keyframe for that seq'),
  },
});

export const eventsRoute = createRoute({
  method: 'get',
  path: '/api/streams/{id}/events',
  summary: 'Server-sent events: history after Last-Event-ID, then live',
  request: { params: StreamParams, query: EventsQuery, headers: EventsHeaders },
  responses: {
    200: text('text/event-stream', 'event stream; events caption, summary, alert, status, gap, error'),
    400: error('Bad Last-Event-ID or since'),
    ...read,
    ...noStream,
    503: { ...error('Too many server-sent event connections are open'), headers: retryAfter },
  },
});

export const searchRoute = createRoute({
  method: 'get',
  path: '/api/search',
  summary: 'Captions and summaries containing every word, best first among the newest 2,000 matches (alerts are not searched: they repeat the caption they matched)',
  request: { query: SearchQuery },
  responses: {
    200: json(z.object({ q: z.string(), results: z.array(z.intersection(Event, z.object({ snippet: z.string() }))) })),
    400: error('No query, or a bad time or limit'),
    ...read,
    429: { ...error('As many searches as the server runs at once are running'), headers: retryAfter },
  },
});

const ruleBody = { body: { required: true, content: { 'application/json': { schema: RuleRequest } } } } as const;
const ruleWrite = {
  400: error(
    'A bad rule (every bad field is named: a regular expression that does not compile or could run away, hours that are not HH:MM, an unknown time zone…), or a body that is not a JSON object',
  ),
  ...write,
  413: error('Body over 16 KiB'),
  415: error('The body is not sent as Content-Type: application/json'),
  503: error('The history store cannot save the rule'),
} as const;
const noRule = { 404: error('No such rule') } as const;

export const listRulesRoute = createRoute({
  method: 'get',
  path: '/api/rules',
  summary: "The rules that raise alerts: the config file's and those added over the API, with where each fires now",
  responses: { 200: json(z.object({ rules: z.array(RuleInfo) })), ...read },
});

export const getRuleRoute = createRoute({
  method: 'get',
  path: '/api/rules/{id}',
  summary: 'One rule',
  request: { params: RuleParams },
  responses: { 200: json(RuleInfo), ...read, ...noRule },
});

export const createRuleRoute = createRoute({
  method: 'post',
  path: '/api/rules',
  summary: 'Add a rule (kept in the store: it runs again after a restart)',
  request: ruleBody,
  responses: { 201: json(RuleInfo, 'Added'), ...ruleWrite, 409: error('The id is in use, or the server runs its maximum of rules') },
});

export const putRuleRoute = createRoute({
  method: 'put',
  path: '/api/rules/{id}',
  summary: 'Replace a rule added over the API, or add it under this id',
  request: { params: RuleParams, ...ruleBody },
  responses: {
    200: json(RuleInfo, 'Replaced'),
    201: json(RuleInfo, 'Added'),
    ...ruleWrite,
    409: error('The rule comes from the config file (change it there), or the server runs its maximum of rules'),
  },
});

export const deleteRuleRoute = createRoute({
  method: 'delete',
  path: '/api/rules/{id}',
  summary: 'Remove a rule added over the API',
  request: { params: RuleParams },
  responses: { 204: { description: 'Removed' }, ...write, ...noRule, 409: error('The rule comes from the config file (remove it there)'), 503: error('The history store cannot forget it') },
});

export const webhooksRoute = createRoute({
  method: 'get',
  path: '/api/webhooks',
  summary: 'The configured webhooks: deliveries made, retried, waiting and given up, and why they wait',
  responses: { 200: json(z.object({ webhooks: z.array(WebhookInfo) })), ...read },
});

const liveUnavailable = { 501: error('Live video is served by a single server, not a cluster node'), 503: error('Live video could not start, or has stopped; the reason is given') } as const;

export const liveRoute = createRoute({
  method: 'get',
  path: '/api/streams/{id}/live/{file}',
  summary:
    "Live video as HLS while someone watches: index.m3u8 is the multivariant playlist (an H.264 variant, a captions and a descriptions subtitle rendition); it starts the stream's live video and waits for its first segment",
  request: { params: LiveParams },
  responses: {
    200: { description: 'A playlist or an MPEG-TS segment', content: { 'application/vnd.apple.mpegurl': { schema: z.string() }, 'video/mp2t': { schema: z.string().openapi({ format: 'binary' }) } } },
    400: error('Not a live video file'),
    ...read,
    404: error('No such stream, or a segment no longer kept'),
    ...liveUnavailable,
  },
});

export const liveCueRoute = createRoute({
  method: 'get',
  path: '/api/streams/{id}/live/{track}/{file}',
  summary: 'A WebVTT segment of live video: the captions (or summaries) over one video segment, mapped to its PTS (X-TIMESTAMP-MAP)',
  request: { params: LiveCueParams },
  responses: { 200: text('text/vtt', 'WebVTT'), 400: error('Not N.vtt'), ...read, 404: error('No such stream, or a segment not in the live playlist'), ...liveUnavailable },
});

export const snapshotRoute = createRoute({
  method: 'get',
  path: '/api/streams/{id}/snapshot.jpg',
  summary: "The stream's latest analysed frame as a JPEG, for dashboards (where the stream runs on another node: its latest keyframe); X-Frame-Time says when it was captured",
  request: { params: StreamParams },
  responses: {
    200: {
      description: 'JPEG',
      content: { 'image/jpeg': { schema: z.string().openapi({ format: 'binary' }) } },
      headers: z.object({ 'X-Frame-Time': z.string().openapi({ description: 'capture time, ms since the epoch', type: 'integer' }) }),
    },
    304: { description: 'Not modified (If-None-Match): no newer frame' },
    ...read,
    404: error('No such stream, or no frame analysed yet'),
  },
});
