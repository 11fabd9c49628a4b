/**
 * The HTTP side: the REST API, health, and the viewer's static files, as one hono app.
 * Errors become JSON answers in one place (`onError`); a user's bad input is a 4xx that says
 * what was wrong.
 */
import type { Context } from 'hono';
import { OpenAPIHono } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import type { HttpBindings } from '@hono/node-server';
import { RateLimiter } from './rate-limit.js';
import { requestToken, type Auth, type Role } from './auth.js';
import { HTTPException } from 'hono/http-exception';
import { bodyLimit } from 'hono/body-limit';
import { readFile } from 'node:fs/promises';
import { join, normalize, extname } from 'node:path';
import { StreamConflictError, StreamInputError, StreamLimitError, StreamStoreError } from './streams.js';
import { RuleConflictError, RuleInputError, RuleStoreError, type RuleSet } from '../rules/rule-set.js';
import type { Webhooks } from '../notify/webhooks.js';
import type { MqttPublisher } from '../notify/mqtt-publisher.js';
import type { StreamDirectory } from './directory.js';
import type { CrossSite } from './cross-site.js';
import type { Hub } from './hub.js';
import type { EventBus } from './event-bus.js';
import { SseChannel, type SseOptions } from './sse.js';
import type { AddressBudgets, ReplayLimits } from './replay.js';
import { SEARCH_DEFAULTS, type SearchLimits } from '../store/history-store.js';
import { serverMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import * as routes from './api-routes.js';
import type { ClusterView } from './api-schemas.js';
import { problemsOf } from '../util/problems.js';
import { cues, toSrt, toWebVtt } from './subtitles.js';
import { LiveVideoError } from './live-video.js';
import { createRequire } from 'node:module';
import { PROJECT_ROOT } from '../paths.js';
import { log } from '../util/log.js';
import type { Frame } from '../core/frame.js';

const VIEWER_DIR = join(PROJECT_ROOT, 'public', 'viewer');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

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
  /** In a cluster: its nodes, as this node last read them (GET /api/cluster). */
  clusterView?: () => ClusterView;
  /** The rules that raise alerts (/api/rules). */
  rules: RuleSet;
  /** Encodes a snapshot (a frame) as JPEG, off the event loop. */
  encodeSnapshot?: (frame: Frame) => Promise<Buffer>;
  /** Webhook deliveries and the MQTT publisher, for /metrics. */
  webhooks?: Webhooks;
  mqtt?: MqttPublisher;
}

/** A JSON body of at most 16 KiB; text that is not JSON gets an answer with an example (the schema then reads the same parse). */
function jsonBody(example: string) {
  return [
    bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.json({ error: 'request body over 16 KiB' }, 413) }),
    createMiddleware(async (c, next) => {
      try {
        await c.req.json();
      } catch {
        throw new HTTPException(400, { message: `request body must be a JSON object like ${example}` });
      }
      await next();
    }),
  ];
}

export function createApp(
  streams: StreamDirectory,
  hub: Hub,
  bus: EventBus,
  { auth, onStreamsChanged, streamCreation, crossSite, sse: sseOptions, replay, replayBudgets, search: searchOptions = {}, clusterView, rules, webhooks, mqtt, encodeSnapshot }: AppOptions,
): OpenAPIHono {
  // A request that does not fit its route's schema is a 400 naming every bad field.
  const app = new OpenAPIHono({
    defaultHook: (result) => {
      if (!result.success) throw new HTTPException(400, { message: problemsOf(result.error).join('; ') });
    },
  });
  const creations = new RateLimiter(streamCreation ?? { perMinute: 10, burst: 10 });
  const sse = new SseChannel(streams, bus, sseOptions, replay, replayBudgets);
  const metrics = serverMetrics(streams, hub, bus, sse, { rules, webhooks, mqtt });

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

  app.openapi(routes.healthRoute, (c) => c.json({ ok: true, streams: streams.list().length, viewers: hub.stats.viewers + sse.stats.clients }, 200));

  // Liveness is /healthz; readiness also needs a writable history (the models are loaded
  // before the port opens). Degraded streams are listed; any of them makes the server not ready.
  app.openapi(routes.readyRoute, (c) => {
    const degraded = streams.degraded();
    const writeError = streams.store.probeWrite();
    const history = writeError ? `cannot write: ${writeError}` : degraded.length ? 'failing for some streams' : 'ok';
    const ready = !writeError && degraded.length === 0;
    return c.json({ ready, checks: { models: 'loaded', history }, degraded }, ready ? 200 : 503);
  });

  app.openapi(routes.metricsRoute, async (c) => c.body(await metrics.metrics(), 200, { 'content-type': metrics.contentType }));
  app.openapi(routes.openApiRoute, (c) => c.json(openApiDocument(app), 200));

  app.openapi(routes.listStreamsRoute, (c) => c.json({ streams: streams.list() }, 200));

  app.openapi(routes.clusterRoute, (c) => c.json(clusterView?.() ?? { cluster: false, node: null, nodes: [] }, 200));

  app.openapi(
    {
      ...routes.createStreamRoute,
      middleware: [
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
        ...jsonBody('{"id": "cam1", "url": "rtsp://…"}'),
      ],
    },
    async (c) => {
      try {
        // Saved, so it comes back after a restart until it is deleted.
        const info = await streams.create(c.req.valid('json'));
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

  app.openapi(routes.getStreamRoute, (c) => {
    const { id } = c.req.valid('param');
    const info = streams.get(id);
    if (!info) throw new HTTPException(404, { message: `no stream '${id}'` });
    return c.json(info, 200);
  });

  app.openapi(routes.deleteStreamRoute, async (c) => {
    const { id } = c.req.valid('param');
    let removed: boolean;
    try {
      removed = await streams.forget(id);
    } catch (err) {
      if (err instanceof StreamStoreError) throw new HTTPException(503, { message: err.message });
      throw err;
    }
    if (!removed) throw new HTTPException(404, { message: `no stream '${id}'` });
    onStreamsChanged();
    return c.body(null, 204);
  });

  // A stream that was removed (or ran before a restart) still has its history.
  const requireStream = (id: string) => {
    if (!streams.has(id) && streams.store.lastSeq(id) === 0) throw new HTTPException(404, { message: `no stream '${id}'` });
  };

  app.openapi(routes.captionsRoute, (c) => {
    const { id } = c.req.valid('param');
    const { since, limit } = c.req.valid('query');
    requireStream(id);
    return c.json({ stream: id, captions: streams.history(id, since, limit) }, 200);
  });

  // Subtitles for a time range (default: the last hour), times counted from its start.
  const subtitles = (c: Context, format: 'vtt' | 'srt', id: string, query: { from?: number; to?: number }) => {
    requireStream(id);
    const to = query.to ?? Date.now();
    const from = query.from ?? to - 3_600_000;
    if (from > to) throw new HTTPException(400, { message: `from (${from}) is after to (${to})` });
    const captions = streams.store.captionTimes(id, from, to, 50_000);
    const list = cues(captions, query.from === undefined && captions.length ? captions[0]!.frameTs : from);
    const body = format === 'vtt' ? toWebVtt(list, `livecap ${id}`) : toSrt(list);
    return c.body(body, 200, {
      'content-type': format === 'vtt' ? 'text/vtt; charset=utf-8' : 'application/x-subrip; charset=utf-8',
      'content-disposition': `inline; filename="${id}.${format}"`,
    });
  };
  app.openapi(routes.webVttRoute, (c) => subtitles(c, 'vtt', c.req.valid('param').id, c.req.valid('query')));
  app.openapi(routes.srtRoute, (c) => subtitles(c, 'srt', c.req.valid('param').id, c.req.valid('query')));

  // A caption's keyframe, kept as long as its caption. A seq's picture never changes, so it may
  // be cached for good (privately: it may have needed a token).
  app.openapi(routes.keyframeRoute, async (c) => {
    const { id, file } = c.req.valid('param');
    const seq = file.slice(0, -'.jpg'.length);
    requireStream(id);
    const etag = `"${seq}"`;
    const headers = { 'cache-control': 'private, max-age=31536000, immutable', etag };
    const jpeg = await streams.keyframe(id, Number(seq));
    if (!jpeg) throw new HTTPException(404, { message: `stream '${id}' has no keyframe for seq ${seq} (not a caption, made while history could not be written, or past retention)` });
    if (c.req.header('if-none-match') === etag) return c.body(null, 304, headers);
    return c.body(new Uint8Array(jpeg), 200, { ...headers, 'content-type': 'image/jpeg' });
  });

  // Live video (live-video.ts): playlists and segments, each request a sign someone watches.
  const liveVideo = (c: Context, id: string) => {
    if (!streams.has(id)) throw new HTTPException(404, { message: `no stream '${id}'` });
    if (!streams.liveVideo) throw new HTTPException(501, { message: 'live video is served by a single server for now; this cluster node does not run streams' });
    const live = streams.liveVideo(id);
    if (!live) throw new HTTPException(404, { message: `no stream '${id}'` });
    // Players do not carry a query onto the URIs a playlist lists: the token is written on each.
    const token = new URL(c.req.url).searchParams.get('token');
    return { live, query: token === null ? '' : `?token=${encodeURIComponent(token)}` };
  };
  const answerLive = async (work: () => Promise<Response>) => {
    try {
      return await work();
    } catch (err) {
      if (err instanceof LiveVideoError) throw new HTTPException(err.status, { message: err.message });
      throw err;
    }
  };
  const playlistHeaders = { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'no-cache' };
  app.openapi(routes.liveRoute, (c) =>
    answerLive(async () => {
      const { id, file } = c.req.valid('param');
      const { live, query } = liveVideo(c, id);
      if (file.endsWith('.ts')) return c.body(new Uint8Array(await live.segment(file)), 200, { 'content-type': 'video/mp2t', 'cache-control': 'private, max-age=60' });
      const text =
        file === 'index.m3u8'
          ? await live.index(query)
          : file === 'video.m3u8'
            ? await live.videoPlaylist(query)
            : await live.subtitlePlaylist(file === 'captions.m3u8' ? 'captions' : 'descriptions', query);
      return c.body(text, 200, playlistHeaders);
    }),
  );
  app.openapi(routes.liveCueRoute, (c) =>
    answerLive(async () => {
      const { id, track, file } = c.req.valid('param');
      const { live } = liveVideo(c, id);
      return c.body(await live.vtt(track, Number(file.slice(0, -'.vtt'.length))), 200, { 'content-type': 'text/vtt; charset=utf-8', 'cache-control': 'private, max-age=60' });
    }),
  );

  // A dashboard's picture of the stream: the last frame analysed here, or, where the stream runs
  // on another node, its latest keyframe. Never cached by the browser; the ETag saves a resend.
  app.openapi(routes.snapshotRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!streams.has(id)) throw new HTTPException(404, { message: `no stream '${id}'` });
    let jpeg: Buffer | undefined;
    let frameTime: number | undefined;
    const frame = streams.latestFrame?.(id);
    if (frame && encodeSnapshot) {
      frameTime = frame.capturedAt;
      if (c.req.header('if-none-match') === `"${frameTime}"`) return c.body(null, 304, { etag: `"${frameTime}"`, 'cache-control': 'no-cache' });
      jpeg = await encodeSnapshot(frame);
    } else {
      const latest = streams.store.latestKeyframe(id);
      if (latest) {
        frameTime = latest.frameTs;
        if (c.req.header('if-none-match') === `"${frameTime}"`) return c.body(null, 304, { etag: `"${frameTime}"`, 'cache-control': 'no-cache' });
        jpeg = await streams.keyframe(id, latest.seq);
      }
    }
    if (!jpeg || frameTime === undefined) throw new HTTPException(404, { message: `stream '${id}' has no frame analysed yet` });
    return c.body(new Uint8Array(jpeg), 200, { 'content-type': 'image/jpeg', 'cache-control': 'no-cache', etag: `"${frameTime}"`, 'x-frame-time': String(frameTime) });
  });

  app.openapi(routes.eventsRoute, (c) => {
    const { id } = c.req.valid('param');
    if (!streams.has(id)) throw new HTTPException(404, { message: `no stream '${id}'` });
    const since = c.req.valid('header')['last-event-id'] ?? c.req.valid('query').since;
    return sse.respond(c, id, since, (c.env as HttpBindings | undefined)?.incoming?.socket.remoteAddress ?? 'unknown');
  });

  // Each search yields while it reads (history-store.ts); these many may run at once.
  let searching = 0;
  const { maxConcurrent: maxSearches = 4, ...searchLimits } = searchOptions;
  const limits = { ...SEARCH_DEFAULTS, ...searchLimits };
  app.openapi(routes.searchRoute, async (c) => {
    const query = c.req.valid('query');
    if (searching >= maxSearches) {
      c.header('Retry-After', '1');
      throw new HTTPException(429, { message: `${maxSearches} searches are running; try again in a second` });
    }
    searching++;
    try {
      const hits = await streams.store.search(query, limits);
      return c.json({ q: query.q, results: hits.map((h) => ({ ...h.event, snippet: h.snippet })) }, 200);
    } finally {
      searching--;
    }
  });

  // Rules: the config file's are shown, and changed only there; the API's are saved in the store.
  const ruleAnswer = <T>(change: () => T): T => {
    try {
      return change();
    } catch (err) {
      if (err instanceof RuleInputError) throw new HTTPException(400, { message: err.message });
      if (err instanceof RuleConflictError) throw new HTTPException(409, { message: err.message });
      if (err instanceof RuleStoreError) throw new HTTPException(503, { message: err.message });
      throw err;
    }
  };
  app.openapi(routes.listRulesRoute, (c) => c.json({ rules: rules.list() }, 200));
  app.openapi(routes.getRuleRoute, (c) => {
    const { id } = c.req.valid('param');
    const info = rules.get(id);
    if (!info) throw new HTTPException(404, { message: `no rule '${id}'` });
    return c.json(info, 200);
  });
  app.openapi({ ...routes.createRuleRoute, middleware: jsonBody('{"id": "red-car", "match": "red car"}') }, (c) =>
    c.json(
      ruleAnswer(() => rules.create(c.req.valid('json'))),
      201,
    ),
  );
  app.openapi({ ...routes.putRuleRoute, middleware: jsonBody('{"id": "red-car", "match": "red car"}') }, (c) => {
    const { info, created } = ruleAnswer(() => rules.replace(c.req.valid('param').id, c.req.valid('json')));
    return created ? c.json(info, 201) : c.json(info, 200);
  });
  app.openapi(routes.deleteRuleRoute, (c) => {
    const { id } = c.req.valid('param');
    if (!ruleAnswer(() => rules.remove(id))) throw new HTTPException(404, { message: `no rule '${id}'` });
    return c.body(null, 204);
  });

  app.openapi(routes.webhooksRoute, (c) => c.json({ webhooks: webhooks?.describe() ?? [] }, 200));

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
  // The HLS player the viewer plays live video with, from the installed package (no CDN).
  let hlsPlayer: Buffer | undefined;
  app.get('/viewer/vendor/hls.min.js', async () => {
    hlsPlayer ??= await readFile(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'));
    return new Response(new Uint8Array(hlsPlayer), { headers: { 'content-type': TYPES['.js']!, 'cache-control': 'public, max-age=86400' } });
  });
  // Browsers and feed readers ask for /favicon.ico whatever the page links: answer with the icon.
  app.get('/favicon.ico', () => serveViewerFile('favicon.svg'));

  return app;
}
