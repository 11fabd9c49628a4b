/**
 * The OpenAPI 3.1 description of the HTTP API, served at /openapi.json. Tests check that every
 * route the app answers is described here, and that each route's documented answers are the
 * ones the server gives (and no others), so the two cannot drift apart.
 */
import { PROTOCOL_VERSION } from './hub.js';
import { STREAM_ID } from '../core/stream-id.js';

const json = (schema: object, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const error = (description: string) => json(ref('Error'), description);
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: STREAM_ID.source } };
const timeParam = (name: string, description: string) => ({ name, in: 'query', description: `${description}: epoch milliseconds or ISO 8601`, schema: { type: 'string' } });
const intParam = (name: string, description: string, max: number) => ({ name, in: 'query', description, schema: { type: 'integer', minimum: 0, maximum: max } });

// The answers of the cross-site rules and the token check (src/stream/cross-site.ts, auth.ts).
const HOST = 'Host name not served: bound to a loopback address, the server answers only localhost, 127.0.0.1, [::1] and --allowed-host names';
const open = { 403: error(HOST) };
const read = { 401: error('No valid token (only when viewer tokens are configured)'), 403: error(HOST) };
const write = {
  401: error('No valid token (only when admin or viewer tokens are configured)'),
  403: error(`A viewer token where an admin token is needed; an Origin other than the server's own or a --cors-origin one; or: ${HOST}`),
};

const readiness = {
  type: 'object',
  properties: {
    ready: { type: 'boolean' },
    checks: { type: 'object', properties: { models: { type: 'string' }, history: { type: 'string' } } },
    degraded: { type: 'array', items: { type: 'object', properties: { stream: { type: 'string' }, reason: { type: 'string' } } } },
  },
};

export function openApiDocument(): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'livecap',
      version: String(PROTOCOL_VERSION),
      description: 'Live captions of video streams. Live events also come over WebSocket at /ws (see docs/protocol.md).',
    },
    paths: {
      '/healthz': {
        get: {
          summary: 'Liveness and counts',
          security: [],
          responses: { 200: json({ type: 'object', properties: { ok: { type: 'boolean' }, streams: { type: 'integer' }, viewers: { type: 'integer' } } }), ...open },
        },
      },
      '/readyz': {
        get: {
          summary: 'Readiness: models loaded and history writable; lists streams whose history is not being written',
          security: [],
          responses: {
            200: json(readiness, 'Ready'),
            503: json(readiness, 'Not ready (history cannot be written, or a stream is degraded)'),
            ...open,
          },
        },
      },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...read } } },
      '/openapi.json': { get: { summary: 'This description', security: [], responses: { 200: json({ type: 'object' }), ...open } } },
      '/api/streams': {
        get: { summary: 'Running streams', responses: { 200: json({ type: 'object', properties: { streams: { type: 'array', items: ref('StreamInfo') } } }), ...read } },
        post: {
          summary: 'Start a stream',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['id', 'url'],
                  properties: {
                    id: { type: 'string' },
                    url: { type: 'string', description: 'rtsp://, http(s)://, /dev/videoN, testsrc://PATTERN, or a file under the media folder' },
                    captioner: { type: 'string', description: 'a captioner the server loaded: embedded, or a spec given to --captioner' },
                    prompt: {
                      type: 'string',
                      maxLength: 2000,
                      description:
                        "the stream's own prompt for a captioner that takes one: a Florence-2 task (<CAPTION>, <DETAILED_CAPTION>, <MORE_DETAILED_CAPTION>) or a prompt of its own, or a vision-language model server's prompt",
                    },
                  },
                },
              },
            },
          },
          responses: {
            201: json(ref('StreamInfo'), 'Started'),
            400: error('Bad id, URL, captioner or prompt (also a prompt for a captioner that takes none), or a body that is not a JSON object'),
            ...write,
            409: error('The id is in use'),
            413: error('Body over 16 KiB'),
            415: error('The body is not sent as Content-Type: application/json'),
            429: {
              ...error('Too many streams created from this address (only started ones count)'),
              headers: { 'Retry-After': { description: 'seconds until it may try again', schema: { type: 'integer' } } },
            },
            503: error('The server already runs its maximum of streams (--max-streams), or the history store cannot save the stream'),
          },
        },
      },
      '/api/streams/{id}': {
        get: { summary: 'One stream', parameters: [idParam], responses: { 200: json(ref('StreamInfo')), ...read, 404: error('No such stream') } },
        delete: {
          summary: 'Stop a stream (one added over the API for good)',
          parameters: [idParam],
          responses: { 204: { description: 'Stopped' }, ...write, 404: error('No such stream'), 503: error('The history store cannot forget it') },
        },
      },
      '/api/streams/{id}/captions': {
        get: {
          summary: 'History after a seq, oldest first',
          parameters: [idParam, intParam('since', 'events after this seq', Number.MAX_SAFE_INTEGER), intParam('limit', 'at most this many (default 100)', 1000)],
          responses: {
            200: json({ type: 'object', properties: { stream: { type: 'string' }, captions: { type: 'array', items: ref('Event') } } }),
            400: error('Bad since or limit'),
            ...read,
            404: error('No such stream'),
          },
        },
      },
      '/api/streams/{id}/captions.vtt': {
        get: {
          summary: 'WebVTT subtitles of a time range (default the last hour)',
          parameters: [idParam, timeParam('from', 'start'), timeParam('to', 'end')],
          responses: { 200: { description: 'WebVTT', content: { 'text/vtt': { schema: { type: 'string' } } } }, 400: error('Bad time'), ...read, 404: error('No such stream') },
        },
      },
      '/api/streams/{id}/keyframes/{file}': {
        get: {
          summary: "A caption's keyframe (its event's keyframeUrl), kept as long as the caption; cacheable for good",
          parameters: [idParam, { name: 'file', in: 'path', required: true, description: "SEQ.jpg, where SEQ is the caption's seq", schema: { type: 'string', pattern: '^[1-9][0-9]{0,14}\\.jpg$' } }],
          responses: {
            200: { description: 'JPEG', content: { 'image/jpeg': { schema: { type: 'string', format: 'binary' } } } },
            304: { description: 'Not modified (If-None-Match)' },
            400: error('Not SEQ.jpg'),
            ...read,
            404: error('No such stream, or no keyframe for that seq'),
          },
        },
      },
      '/api/streams/{id}/captions.srt': {
        get: {
          summary: 'SubRip subtitles of a time range (default the last hour)',
          parameters: [idParam, timeParam('from', 'start'), timeParam('to', 'end')],
          responses: { 200: { description: 'SubRip', content: { 'application/x-subrip': { schema: { type: 'string' } } } }, 400: error('Bad time'), ...read, 404: error('No such stream') },
        },
      },
      '/api/streams/{id}/events': {
        get: {
          summary: 'Server-sent events: history after Last-Event-ID, then live',
          parameters: [idParam, { name: 'Last-Event-ID', in: 'header', schema: { type: 'integer' } }, intParam('since', 'the same as Last-Event-ID', Number.MAX_SAFE_INTEGER)],
          responses: {
            200: { description: 'event stream; events caption, summary, status, gap, error', content: { 'text/event-stream': { schema: { type: 'string' } } } },
            400: error('Bad Last-Event-ID'),
            ...read,
            404: error('No such stream'),
            503: { ...error('Too many server-sent event connections are open'), headers: { 'Retry-After': { description: 'seconds until it may try again', schema: { type: 'integer' } } } },
          },
        },
      },
      '/api/search': {
        get: {
          summary: 'Captions and summaries containing every word, best first among the newest 2,000 matches',
          parameters: [
            { name: 'q', in: 'query', required: true, schema: { type: 'string', maxLength: 500 } },
            { name: 'stream', in: 'query', schema: { type: 'string' } },
            timeParam('from', 'not before'),
            timeParam('to', 'not after'),
            intParam('limit', 'at most this many (default 50)', 500),
          ],
          responses: {
            200: json({
              type: 'object',
              properties: { q: { type: 'string' }, results: { type: 'array', items: { allOf: [ref('Event'), { type: 'object', properties: { snippet: { type: 'string' } } }] } } },
            }),
            400: error('No query, or a bad time or limit'),
            ...read,
            429: { ...error('As many searches as the server runs at once are running'), headers: { 'Retry-After': { description: 'seconds until it may try again', schema: { type: 'integer' } } } },
          },
        },
      },
    },
    // Reading needs a viewer token only when viewer tokens are configured; adding and removing
    // streams needs an admin token when any tokens are. Without tokens the server is open.
    security: [{ bearer: [] }, { token: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer TOKEN, a viewer or an admin token' },
        token: { type: 'apiKey', in: 'query', name: 'token', description: "?token=TOKEN, where a header cannot be set (a browser's EventSource and WebSocket)" },
      },
      schemas: {
        Error: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } },
        StreamInfo: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            url: { type: 'string', description: 'with any password replaced by ***' },
            kind: { type: 'string' },
            state: { enum: ['connecting', 'live', 'reconnecting', 'stalled', 'stopped'] },
            error: { type: 'string' },
            note: { type: 'string', description: 'while live: the captioner does not recognise most of its scenes, and how to bring a real model' },
            lastSeq: { type: 'integer' },
            captioner: { type: 'string' },
            prompt: { type: 'string', description: "the stream's own prompt for its captioner, when it has one" },
            summaries: { type: 'boolean', description: 'whether video captions (summaries) are made for this stream' },
            counters: { type: 'object', additionalProperties: { type: 'integer' } },
            degraded: { type: 'string', description: 'why the stream works less well than it should (history not being written), while it lasts' },
            saved: { type: 'boolean', description: 'added over the API: it comes back after a restart' },
          },
        },
        Caption: {
          type: 'object',
          properties: {
            type: { const: 'caption' },
            stream: { type: 'string' },
            seq: { type: 'integer' },
            ts: { type: 'integer' },
            frameTs: { type: 'integer' },
            text: { type: 'string' },
            latencyMs: { type: 'number' },
            keyframeUrl: { type: 'string', description: 'where its keyframe (JPEG) is served, relative to the server, while the caption is kept; absent when none was stored' },
            outOfDomain: { type: 'boolean', description: 'the keyframe lies beyond what the captioner knows, so the text means nothing; absent when the captioner cannot tell' },
          },
        },
        Summary: {
          type: 'object',
          properties: {
            type: { const: 'summary' },
            stream: { type: 'string' },
            seq: { type: 'integer' },
            ts: { type: 'integer' },
            from: { type: 'integer' },
            to: { type: 'integer' },
            text: { type: 'string' },
          },
        },
        Event: { oneOf: [ref('Caption'), ref('Summary')] },
      },
    },
  };
}
