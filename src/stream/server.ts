/**
 * The livecap server: one port for the REST API, the viewer and the WebSocket at /ws.
 * `startServer` resolves once it listens; `close()` stops every stream (and its ffmpeg),
 * closes viewers' sockets and the port, and closes the history store. Safe to call twice.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { WebSocketServer } from 'ws';
import type { Hono } from 'hono';
import { createApp } from './app.js';
import { Hub, type HubOptions } from './hub.js';
import { StreamManager } from './streams.js';
import { EventBus } from './event-bus.js';
import { Auth, CLOSE_UNAUTHORIZED, requestToken, type AuthConfig } from './auth.js';
import type { Source } from '../ingest/source.js';
import type { Captioner, PipelineOptions } from '../pipeline/stream-pipeline.js';
import { log } from '../util/log.js';
import { HistoryStore, type HistoryStoreOptions } from '../store/history-store.js';
import { Thumbnailer } from '../media/thumbnails.js';
import type { Frame } from '../media/image.js';

export interface ServerOptions {
  host: string;
  port: number;
  mediaDir?: string;
  /** The default captioner, and its name in stream info (default 'default'). */
  captioner: Captioner;
  captionerName?: string;
  /** Further captioners that streams may ask for by name. */
  captioners?: ReadonlyMap<string, Captioner>;
  pipeline: Omit<PipelineOptions, 'streamId'>;
  hub?: Partial<HubOptions>;
  /** Stream creations allowed per client address (default 10 at once, 10 a minute). */
  streamCreation?: { perMinute: number; burst: number };
  /** Access tokens (default: none, the server is open). */
  auth?: AuthConfig;
  /** The history store's file and retention (default: in memory). */
  history?: HistoryStoreOptions;
  /** Inbound WebSocket message cap in bytes. */
  maxPayload?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  streams: StreamManager;
  hub: Hub;
  /** The HTTP routes (hono), for introspection. */
  app: Hono;
  addSource(id: string, source: Source, displayUrl: string, captioner?: string): void;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  let hub: Hub | undefined;
  const choice = { default: options.captioner, defaultName: options.captionerName ?? 'default', named: options.captioners };
  const store = new HistoryStore(options.history ?? { path: ':memory:' });
  const pruned = store.prune();
  if (pruned) log.info('history: removed events past retention', { events: pruned });
  const pruner = setInterval(() => store.prune(), 60_000);
  pruner.unref();
  const bus = new EventBus();
  // Keyframe thumbnails are encoded in a worker thread, not on the event loop.
  const thumbnails = new Thumbnailer();
  const pipeline = { thumbnail: (frame: Frame) => thumbnails.dataUrl(frame), ...options.pipeline };
  const streams = new StreamManager(choice, { rules: { mediaDir: options.mediaDir }, pipeline, store }, (m) => bus.publish(m));
  hub = new Hub({ ids: () => streams.list().map((s) => s.id), has: (id) => streams.has(id), replay: (id, since, limit, maxBytes) => streams.replay(id, since, limit, maxBytes), status: (id) => streams.status(id) }, options.hub);
  bus.subscribe((m) => hub!.broadcast(m));
  const auth = new Auth(options.auth);
  const app = createApp(streams, hub, bus, { auth, onStreamsChanged: () => hub!.announceStreams(), streamCreation: options.streamCreation });
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
    streams.close();
    store.close();
    await thumbnails.close();
    throw err;
  }
  server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const verdict = auth.check(requestToken(req.headers.authorization, req.url ?? '/'), 'viewer');
    wss.handleUpgrade(req, socket, head, (ws) => {
      // Accepted, then closed with a documented code, so a browser can tell why.
      if (verdict !== 'ok') ws.close(CLOSE_UNAUTHORIZED, 'a viewer token is needed: /ws?token=TOKEN');
      else hub!.accept(ws);
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
    hub,
    app,
    addSource: (id, source, displayUrl, captioner) => {
      streams.addSource(id, source, displayUrl, captioner);
      hub!.announceStreams();
    },
    close: () =>
      (closing ??= (async () => {
        streams.close();
        hub!.close();
        wss.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections?.();
        });
        clearInterval(pruner);
        await thumbnails.close();
        // Last: every event written so far is checkpointed into the database file.
        store.close();
      })()),
  };
}
