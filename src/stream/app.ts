/**
 * The HTTP side: the REST API, health, and the viewer's static files, as one hono app.
 * Errors become JSON answers in one place (`onError`); a user's bad input is a 4xx that says
 * what was wrong.
 */
import { Hono, type Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { HttpBindings } from '@hono/node-server';
import { RateLimiter } from './rate-limit.js';
import { requestToken, type Auth, type Role } from './auth.js';
import { HTTPException } from 'hono/http-exception';
import { bodyLimit } from 'hono/body-limit';
import { readFile } from 'node:fs/promises';
import { join, normalize, extname } from 'node:path';
import { StreamConflictError, StreamInputError, StreamLimitError, StreamStoreError, type StreamManager } from './streams.js';
import type { CrossSite } from './cross-site.js';
import type { Hub } from './hub.js';
import type { EventBus } from './event-bus.js';
import { SseChannel, type SseOptions } from './sse.js';
import type { AddressBudgets, ReplayLimits } from './replay.js';
import { SEARCH_DEFAULTS, type SearchLimits } from '../store/history-store.js';
import { serverMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { cues, toSrt, toWebVtt } from './subtitles.js';
import { PROJECT_ROOT } from '../paths.js';
import { log } from '../util/log.js';

const VIEWER_DIR = join(PROJECT_ROOT, 'public', 'viewer');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

function intParam(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new HTTPException(400, { message: `${name} must be a whole number ≥ 0, got '${value}'` });
  return Math.min(n, max);
}

/** A time parameter: epoch milliseconds or an ISO 8601 date. */
function timeParam(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const t = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(t)) throw new HTTPException(400, { message: `${name} must be epoch milliseconds or an ISO 8601 time, got '${value}'` });
  return t;
}

export interface AppOptions {
  auth: Auth;
  onStreamsChanged: () => void;
  /** Stream creations per client (default 10 at once, 10 a minute); only accepted ones count. */
  streamCreation?: { perMinute: number; burst: number };
  /** Host, Origin, JSON and CORS rules, and the security headers. */
  crossSite: CrossSite;
  /** Server-sent events: connection cap and queue limit (sse.ts). */
  sse?: Partial<SseOptions>;
  /** Replay limits shared with the WebSocket hub (replay.ts). */
  replay?: Partial<ReplayLimits>;
  /** Replay budgets per client address, shared with the WebSocket hub. */
  replayBudgets?: AddressBudgets;
  /** Searches running at once at most (default 4; more get 429), and how much each may read. */
  search?: Partial<SearchLimits> & { maxConcurrent?: number };
}

export function createApp(
  streams: StreamManager,
  hub: Hub,
  bus: EventBus,
  { auth, onStreamsChanged, streamCreation, crossSite, sse: sseOptions, replay, replayBudgets, search: searchOptions = {} }: AppOptions,
): Hono {
  const app = new Hono();
  const creations = new RateLimiter(streamCreation ?? { perMinute: 10, burst: 10 });
  const sse = new SseChannel(streams, bus, sseOptions, replay, replayBudgets);
  const metrics = serverMetrics(streams, hub, bus, sse);

  // Reading needs a viewer token, changing streams an admin token, when tokens are configured.
  const guard = (role: Role) =>
    createMiddleware(async (c, next) => {
      const verdict = auth.check(requestToken(c.req.header('authorization'), c.req.url), role);
      if (verdict === 401) {
        c.header('WWW-Authenticate', 'Bearer realm="livecap"');
        throw new HTTPException(401, { message: 'a token is needed: send Authorization: Bearer TOKEN (or ?token=TOKEN)' });
      }
      if (verdict === 403) throw new HTTPException(403, { message: role === 'admin' ? 'this token may read but not add or remove streams' : 'this token may not read' });
      await next();
    });
  // Other websites first: a page elsewhere is refused whatever token it might hold.
  app.use('*', crossSite.everyRequest());
  app.on(['POST', 'DELETE', 'PUT', 'PATCH'], '*', crossSite.writes());
  app.on(['GET', 'HEAD', 'OPTIONS'], '/api/*', crossSite.reads());
  app.on(['POST', 'DELETE', 'PUT', 'PATCH'], '/api/*', guard('admin'));
  app.get('/api/*', guard('viewer'));
  app.get('/metrics', guard('viewer'));

  app.onError((err, c) => {
    if (err instanceof HTTPException) return c.json({ error: err.message }, err.status);
    log.error('request failed', { path: c.req.path, error: err.message });
    return c.json({ error: 'internal error' }, 500);
  });
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));

  app.get('/healthz', (c) => c.json({ ok: true, streams: streams.list().length, viewers: hub.stats.viewers + sse.stats.clients }));

  // Liveness is /healthz; readiness also needs a writable history (the models are loaded
  // before the port opens). Degraded streams are listed; any of them makes the server not ready.
  app.get('/readyz', (c) => {
    const degraded = streams.degraded();
    const writeError = streams.store.probeWrite();
    const history = writeError ? `cannot write: ${writeError}` : degraded.length ? 'failing for some streams' : 'ok';
    const ready = !writeError && degraded.length === 0;
    return c.json({ ready, checks: { models: 'loaded', history }, degraded }, ready ? 200 : 503);
  });

  app.get('/metrics', async (c) => c.body(await metrics.metrics(), 200, { 'content-type': metrics.contentType }));
  app.get('/openapi.json', (c) => c.json(openApiDocument()));

  app.get('/api/streams', (c) => c.json({ streams: streams.list() }));

  app.post(
    '/api/streams',
    async (c, next) => {
      const client = (c.env as HttpBindings | undefined)?.incoming?.socket.remoteAddress ?? 'unknown';
      const wait = creations.take(client);
      if (wait > 0) {
        c.header('Retry-After', String(wait));
        throw new HTTPException(429, { message: `too many streams created from this address; try again in ${wait} s` });
      }
      await next();
      // Only a stream that was started counts: a refused request (a typo, a taken id) gives its turn back.
      if (c.res.status !== 201) creations.refund(client);
    },
    bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.json({ error: 'request body over 16 KiB' }, 413) }),
    async (c) => {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        throw new HTTPException(400, { message: 'request body must be a JSON object like {"id": "cam1", "url": "rtsp://…"}' });
      }
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HTTPException(400, { message: 'request body must be a JSON object with id and url' });
      const { id, url, captioner, prompt } = body as { id?: unknown; url?: unknown; captioner?: unknown; prompt?: unknown };
      try {
        // Saved, so it comes back after a restart until it is deleted.
        const info = streams.create(id, url, captioner, prompt);
        onStreamsChanged();
        return c.json(info, 201);
      } catch (err) {
        if (err instanceof StreamConflictError) throw new HTTPException(409, { message: err.message });
        if (err instanceof StreamInputError) throw new HTTPException(400, { message: err.message });
        if (err instanceof StreamLimitError) throw new HTTPException(503, { message: err.message });
        if (err instanceof StreamStoreError) throw new HTTPException(503, { message: err.message });
        throw err;
      }
    },
  );

  app.get('/api/streams/:id', (c) => {
    const info = streams.get(c.req.param('id'));
    if (!info) throw new HTTPException(404, { message: `no stream '${c.req.param('id')}'` });
    return c.json(info);
  });

  app.delete('/api/streams/:id', (c) => {
    let removed: boolean;
    try {
      removed = streams.forget(c.req.param('id'));
    } catch (err) {
      if (err instanceof StreamStoreError) throw new HTTPException(503, { message: err.message });
      throw err;
    }
    if (!removed) throw new HTTPException(404, { message: `no stream '${c.req.param('id')}'` });
    onStreamsChanged();
    return c.body(null, 204);
  });

  // A stream that was removed (or ran before a restart) still has its history.
  const requireStream = (id: string) => {
    if (!streams.has(id) && streams.store.lastSeq(id) === 0) throw new HTTPException(404, { message: `no stream '${id}'` });
  };

  app.get('/api/streams/:id/captions', (c) => {
    const id = c.req.param('id');
    requireStream(id);
    const since = intParam(c.req.query('since'), 'since', 0, Number.MAX_SAFE_INTEGER);
    const limit = intParam(c.req.query('limit'), 'limit', 100, 1000);
    return c.json({ stream: id, captions: streams.history(id, since, limit) });
  });

  // Subtitles for a time range (default: the last hour), times counted from its start.
  const subtitles = (format: 'vtt' | 'srt') => (c: Context) => {
    const id = c.req.param('id')!;
    requireStream(id);
    const to = timeParam(c.req.query('to'), 'to') ?? Date.now();
    const from = timeParam(c.req.query('from'), 'from') ?? to - 3_600_000;
    if (from > to) throw new HTTPException(400, { message: `from (${from}) is after to (${to})` });
    const captions = streams.store.captionTimes(id, from, to, 50_000);
    const list = cues(captions, c.req.query('from') === undefined && captions.length ? captions[0]!.frameTs : from);
    const body = format === 'vtt' ? toWebVtt(list, `livecap ${id}`) : toSrt(list);
    return c.body(body, 200, {
      'content-type': format === 'vtt' ? 'text/vtt; charset=utf-8' : 'application/x-subrip; charset=utf-8',
      'content-disposition': `inline; filename="${id}.${format}"`,
    });
  };
  // A caption's keyframe, kept as long as its caption. A seq's picture never changes, so it may
  // be cached for good (privately: it may have needed a token).
  app.get('/api/streams/:id/keyframes/:file', (c) => {
    const id = c.req.param('id');
    const file = c.req.param('file');
    const seq = /^([1-9]\d{0,14})\.jpg$/.exec(file)?.[1];
    if (!seq) throw new HTTPException(400, { message: `a keyframe is asked for as SEQ.jpg (the caption's seq), got '${file}'` });
    requireStream(id);
    const etag = `"${seq}"`;
    const headers = { 'cache-control': 'private, max-age=31536000, immutable', etag };
    const jpeg = streams.store.keyframe(id, Number(seq));
    if (!jpeg) throw new HTTPException(404, { message: `stream '${id}' has no keyframe for seq ${seq} (not a caption, made while history could not be written, or past retention)` });
    if (c.req.header('if-none-match') === etag) return c.body(null, 304, headers);
    return c.body(new Uint8Array(jpeg), 200, { ...headers, 'content-type': 'image/jpeg' });
  });

  app.get('/api/streams/:id/captions.vtt', subtitles('vtt'));
  app.get('/api/streams/:id/captions.srt', subtitles('srt'));

  app.get('/api/streams/:id/events', (c) => {
    const id = c.req.param('id');
    if (!streams.has(id)) throw new HTTPException(404, { message: `no stream '${id}'` });
    const resume = c.req.header('last-event-id') ?? c.req.query('since');
    const since = resume === undefined ? undefined : intParam(resume, 'Last-Event-ID', 0, Number.MAX_SAFE_INTEGER);
    return sse.respond(c, id, since, (c.env as HttpBindings | undefined)?.incoming?.socket.remoteAddress ?? 'unknown');
  });

  // Each search yields while it reads (history-store.ts); these many may run at once.
  let searching = 0;
  const { maxConcurrent: maxSearches = 4, ...searchLimits } = searchOptions;
  const limits = { ...SEARCH_DEFAULTS, ...searchLimits };
  app.get('/api/search', async (c) => {
    const q = c.req.query('q') ?? '';
    if (!q.trim()) throw new HTTPException(400, { message: 'q is required: the words to look for, e.g. /api/search?q=red+circle' });
    if (q.length > 500) throw new HTTPException(400, { message: 'q is over 500 characters' });
    const stream = c.req.query('stream');
    const query = { q, stream: stream || undefined, from: timeParam(c.req.query('from'), 'from'), to: timeParam(c.req.query('to'), 'to'), limit: intParam(c.req.query('limit'), 'limit', 50, 500) };
    if (searching >= maxSearches) {
      c.header('Retry-After', '1');
      throw new HTTPException(429, { message: `${maxSearches} searches are running; try again in a second` });
    }
    searching++;
    try {
      const hits = await streams.store.search(query, limits);
      return c.json({ q, results: hits.map((h) => ({ ...h.event, snippet: h.snippet })) });
    } finally {
      searching--;
    }
  });

  const serveViewerFile = async (file: string) => {
    // normalize() and the prefix check keep requests inside public/viewer.
    const path = normalize(join(VIEWER_DIR, file));
    if (!path.startsWith(VIEWER_DIR + '/')) throw new HTTPException(404, { message: 'not found' });
    try {
      return new Response(await readFile(path), { headers: { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-cache' } });
    } catch {
      throw new HTTPException(404, { message: `no file ${file}` });
    }
  };
  app.get('/', () => serveViewerFile('index.html'));
  app.get('/viewer/:file', (c) => serveViewerFile(c.req.param('file')));
  // Browsers and feed readers ask for /favicon.ico whatever the page links: answer with the icon.
  app.get('/favicon.ico', () => serveViewerFile('favicon.svg'));

  return app;
}
