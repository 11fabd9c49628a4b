/**
 * The livecap server: one port for the REST API, the viewer and the WebSocket at /ws.
 * `startServer` resolves once it listens; `close()` stops every stream (and its ffmpeg),
 * closes viewers' sockets and the port, and closes the history store. Safe to call twice.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { WebSocketServer } from 'ws';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { createApp } from './app.js';
import { Hub, type HubOptions } from './hub.js';
import { acceptWebSocket } from './ws-viewer.js';
import type { ReplayLimits } from './replay.js';
import type { SseOptions } from './sse.js';
import { StreamManager } from './streams.js';
import type { StreamDirectory } from './directory.js';
import { startClusterNode, type ClusterNode, type ClusterOptions } from './cluster-node.js';
import { EventBus } from './event-bus.js';
import { Auth, CLOSE_UNAUTHORIZED, requestToken, type AuthConfig } from './auth.js';
import { CrossSite } from './cross-site.js';
import type { Source } from '../ingest/source.js';
import type { PipelineOptions } from '../pipeline/stream-pipeline.js';
import { log } from '../util/log.js';
import { HistoryStore, type SearchLimits } from '../store/history-store.js';
import { Thumbnailer } from '../media/thumbnails.js';
import type { Frame } from '../core/frame.js';
import type { Captioner } from '../core/caption.js';
import type { HistoryStoreOptions } from '../store/history-options.js';
import { RuleSet } from '../rules/rule-set.js';
import { Webhooks, type WebhookSpec, type WebhookTiming } from '../notify/webhooks.js';
import { MqttPublisher, type MqttSettings } from '../notify/mqtt-publisher.js';
import { LIVECAP_VERSION } from '../paths.js';
import { jpegOf } from './stream-messages.js';
import type { RuleSpec } from '../rules/rule.js';

import { LIVE_VIDEO_DEFAULTS, type LiveVideoOptions } from './live-video.js';

export interface ServerOptions {
  /** The JPEG encoder for keyframe thumbnails, when the caller shares one (closed by its owner); else the server starts its own. */
  thumbnails?: Thumbnailer;
  host: string;
  port: number;
  mediaDir?: string;
  /** The default captioner, and its name in stream info (default 'default'); none only for a cluster's web node, which runs no stream. */
  captioner?: Captioner;
  captionerName?: string;
  /** Further captioners that streams may ask for by name. */
  captioners?: ReadonlyMap<string, Captioner>;
  pipeline: Omit<PipelineOptions, 'streamId'>;
  /** WebSocket queue, heartbeat and replay limits (replay.ts; SSE replays share them). */
  hub?: Partial<Omit<HubOptions, 'replay'>> & { replay?: Partial<ReplayLimits> };
  /** Searches: how many may run at once (default 4) and how much each reads (history-store.ts). */
  search?: Partial<SearchLimits> & { maxConcurrent?: number };
  /** Server-sent events: how many responses may be open at once (default 1,000). */
  sse?: Partial<SseOptions>;
  /** Stream creations allowed per client address (default 10 at once, 10 a minute). */
  streamCreation?: { perMinute: number; burst: number };
  /** Access tokens (default: none, the server is open). */
  auth?: AuthConfig;
  /** The history store's file and retention (default: in memory). */
  history?: HistoryStoreOptions;
  /** Inbound WebSocket message cap in bytes. */
  maxPayload?: number;
  /** The most streams running at once; creating another answers 503 (default 64). */
  maxStreams?: number;
  /** Origins allowed to read (CORS on GET /api/*) and to open /ws, besides the server's own. */
  corsOrigins?: readonly string[];
  /** Host names answered besides localhost, 127.0.0.1 and [::1] when bound to loopback (a reverse proxy's). */
  allowedHosts?: readonly string[];
  /** Run as one node of a cluster on Redis instead of alone. */
  cluster?: ClusterOptions;
  /** Rules from the config file that raise alerts (rules added over the API are kept in the history store). */
  rules?: RuleSpec[];
  /** Webhooks that get events (notify/webhooks.ts), and their retry timing (tests shorten it). */
  webhooks?: readonly WebhookSpec[];
  webhookTiming?: Partial<WebhookTiming>;
  /** An MQTT broker to publish events to, with Home Assistant discovery (notify/mqtt-publisher.ts). */
  mqtt?: MqttSettings;
  /** Live video (HLS while watched): when it stops, segment length, encoding (stream/live-video.ts). */
  liveVideo?: Partial<Omit<LiveVideoOptions, 'hls'>> & { hls?: Partial<LiveVideoOptions['hls']> };
}

export const DEFAULT_MAX_STREAMS = 64;

export interface RunningServer {
  url: string;
  port: number;
  streams: StreamDirectory;
  /** The streams of a single server (not in a cluster), with what only it can do: add a trusted source, stop a stream. */
  manager?: StreamManager;
  /** In a cluster: the node's worker (roles worker and all) and its view of the cluster. */
  cluster?: ClusterNode;
  hub: Hub;
  /** Where every stream event is published (the hub and SSE responses listen). */
  bus: EventBus;
  /** The rules that raise alerts. */
  rules: RuleSet;
  /** Webhook deliveries, when webhooks are configured. */
  webhooks?: Webhooks;
  /** The MQTT publisher, when a broker is configured. */
  mqtt?: MqttPublisher;
  /** The HTTP routes (hono), for introspection. */
  app: OpenAPIHono;
  addSource(id: string, source: Source, displayUrl: string, captioner?: string, prompt?: string): void;
  /** Starts the streams added over the API before the last restart (see StreamManager.restore). */
  restoreStreams(): void;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  let hub: Hub | undefined;
  if (!options.captioner && options.cluster?.role !== 'web') throw new Error('a captioner is needed: only a cluster web node runs without one');
  const choice = options.captioner && { default: options.captioner, defaultName: options.captionerName ?? 'default', named: options.captioners };
  const store = new HistoryStore(options.history ?? { path: ':memory:' });
  // Retention deletes, and a delete needs room in the journal: on a full disk it fails. That
  // must not take the server down (a throw in a timer would), only be said.
  const prune = () => {
    try {
      const pruned = store.prune();
      if (pruned) log.info('history: removed events past retention', { events: pruned });
    } catch (err) {
      log.warn('history: cannot remove events past retention now', { error: (err as Error).message });
    }
  };
  prune();
  const pruner = setInterval(prune, 60_000);
  pruner.unref();
  const bus = new EventBus();
  // Keyframe thumbnails are encoded in a worker thread, not on the event loop.
  const ownsThumbnails = !options.thumbnails;
  const thumbnails = options.thumbnails ?? new Thumbnailer();
  const pipeline = { thumbnail: (frame: Frame) => thumbnails.dataUrl(frame), ...options.pipeline };
  const rules = { mediaDir: options.mediaDir };
  const maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
  let manager: StreamManager | undefined;
  let cluster: ClusterNode | undefined;
  // In a cluster, rules would have to run on every worker and live in Redis: not yet (the
  // settings refuse rules with --cluster), so a cluster node's rule set stays empty and fixed.
  const alertRules = new RuleSet(store, options.cluster ? 'rules and alerts run on a single server for now, not in a cluster' : undefined);
  try {
    alertRules.load(options.rules ?? []);
  } catch (err) {
    clearInterval(pruner);
    store.close();
    if (ownsThumbnails) await thumbnails.close();
    throw err;
  }
  // Before any stream runs: every event kept from now on has its deliveries queued with it.
  const webhooks = options.webhooks?.length ? new Webhooks(store, options.webhooks, options.webhookTiming) : undefined;
  if (webhooks) bus.subscribe((m) => m.type === 'status' && webhooks.status(m));
  if (options.cluster) {
    try {
      cluster = await startClusterNode(options.cluster, { choice, rules, pipeline, store, maxStreams, maxEvents: options.history?.maxEvents, maxAgeMs: options.history?.maxAgeMs }, (m) =>
        bus.publish(m),
      );
    } catch (err) {
      clearInterval(pruner);
      await webhooks?.close();
      store.close();
      if (ownsThumbnails) await thumbnails.close();
      throw err;
    }
  } else {
    const liveVideo = { ...LIVE_VIDEO_DEFAULTS, ...options.liveVideo, hls: { ...LIVE_VIDEO_DEFAULTS.hls, ...options.liveVideo?.hls } };
    manager = new StreamManager(choice!, { rules, pipeline, store, maxStreams, alerts: alertRules.book, liveVideo }, (m) => bus.publish(m));
  }
  const streams: StreamDirectory = cluster?.streams ?? manager!;
  const mqtt =
    options.mqtt &&
    new MqttPublisher(options.mqtt, {
      streams: () => streams.list().map((s) => s.id),
      rules: alertRules.book,
      subscribe: (listener) => bus.subscribe(listener),
      version: LIVECAP_VERSION,
    });
  hub = new Hub(
    {
      ids: () => streams.list().map((s) => s.id),
      has: (id) => streams.has(id),
      replay: (id, since, limits, allowance, stop) => streams.replay(id, since, limits, allowance, stop),
      status: (id) => streams.status(id),
    },
    options.hub,
  );
  bus.subscribe((m) => hub!.broadcast(m));
  const auth = new Auth(options.auth);
  const crossSite = new CrossSite({ host: options.host, allowedHosts: options.allowedHosts, corsOrigins: options.corsOrigins });
  const app = createApp(streams, hub, bus, {
    auth,
    crossSite,
    onStreamsChanged: () => hub!.announceStreams(),
    streamCreation: options.streamCreation,
    sse: options.sse,
    replay: options.hub?.replay,
    replayBudgets: hub.addresses,
    search: options.search,
    rules: alertRules,
    webhooks,
    mqtt,
    encodeSnapshot: async (frame) => jpegOf(await thumbnails.dataUrl(frame, 85))!,
    ...(cluster && { clusterView: () => cluster!.streams.view(cluster!.nodeId) }),
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 64 * 1024 });

  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, () => resolve(s as Server)) as Server;
      s.once('error', reject);
    });
  } catch (err) {
    // Nothing listens (the port is taken, say): undo what was set up, the history store last.
    clearInterval(pruner);
    hub.close();
    wss.close();
    await manager?.close();
    await cluster?.close();
    await webhooks?.close();
    await mqtt?.close();
    store.close();
    if (ownsThumbnails) await thumbnails.close();
    throw err;
  }
  server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    // Before the upgrade: a page on another site must not watch the captions (nor reach a
    // loopback server through a rebound DNS name).
    const { host, origin } = req.headers;
    const refused = crossSite.hostProblem(host) ?? (crossSite.originAllowed(origin, host) ? undefined : 'this origin may not open /ws; the server admits its own and --cors-origin origins');
    if (refused) {
      socket.end(`HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(refused)}\r\n\r\n${refused}`);
      return;
    }
    const verdict = auth.check(requestToken(req.headers.authorization, req.url ?? '/'), 'viewer');
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (verdict === 'ok') return acceptWebSocket(hub!, ws, req.socket.remoteAddress);
      // Accepted, then closed with a documented code, so a browser can tell why. Whatever the
      // client sends meanwhile (an oversized frame, say) is an 'error' on this socket: without a
      // listener it would be thrown and end the process.
      ws.on('error', () => ws.terminate());
      ws.close(CLOSE_UNAUTHORIZED, 'a viewer token is needed: /ws?token=TOKEN');
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  log.info('listening', { url });

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    streams,
    manager,
    cluster,
    hub,
    bus,
    rules: alertRules,
    webhooks,
    mqtt,
    app,
    addSource: (id, source, displayUrl, captioner, prompt) => {
      if (!manager) throw new Error('in a cluster, streams are added over the API or the config file of any node');
      manager.addSource(id, source, displayUrl, captioner, prompt);
      hub!.announceStreams();
    },
    restoreStreams: () => {
      if (!manager) return;
      const ids = manager.restore();
      if (ids.length) {
        log.info('saved streams started', { streams: ids });
        hub!.announceStreams();
      }
    },
    close: () =>
      (closing ??= (async () => {
        await manager?.close();
        await cluster?.close();
        hub!.close();
        wss.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections?.();
        });
        clearInterval(pruner);
        await webhooks?.close();
        await mqtt?.close();
        if (ownsThumbnails) await thumbnails.close();
        // Last: every event written so far is checkpointed into the database file.
        store.close();
      })()),
  };
}
