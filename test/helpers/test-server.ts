/**
 * A livecap server for tests on 127.0.0.1 and a free port, with the embedded captioner and
 * quick reconnects. `events` records every stream event the hub broadcasts.
 */
import { startServer, type RunningServer, type ServerOptions } from '../../src/stream/server.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import type { SupervisorOptions } from '../../src/ingest/supervised-source.js';
import type { StreamMessage } from '../../src/core/events.js';

export interface TestServer {
  server: RunningServer;
  events: StreamMessage[];
  close(): Promise<void>;
}

export async function startTestServer(
  options: { mediaDir?: string; supervisor?: Partial<SupervisorOptions> } & Partial<Pick<ServerOptions, 'hub' | 'history' | 'sse' | 'search'>> = {},
): Promise<TestServer> {
  const captioner = await acquireCaptioner(EMBEDDED_CAPTIONER);
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    mediaDir: options.mediaDir,
    captioner,
    hub: options.hub,
    history: options.history,
    sse: options.sse,
    search: options.search,
    pipeline: { output: { width: 160, height: 120, fps: 10 }, supervisor: { backoffInitialMs: 250, backoffMaxMs: 1000, ...options.supervisor } },
  });
  const events = recordBroadcasts(server);
  return {
    server,
    events,
    close: async () => {
      await server.close();
      await releaseCaptioner(EMBEDDED_CAPTIONER);
    },
  };
}

/** Every stream event the server's hub broadcasts from now on, in order. */
export function recordBroadcasts(server: RunningServer): StreamMessage[] {
  const events: StreamMessage[] = [];
  const broadcast = server.hub.broadcast.bind(server.hub);
  server.hub.broadcast = (m) => {
    events.push(m);
    broadcast(m);
  };
  return events;
}

/** A node of a cluster on the Redis at `redisUrl` (role all), with the embedded captioner and a quick lease (2 s) and tick (250 ms). */
export async function startClusterTestServer(redisUrl: string, nodeId: string, mediaDir: string): Promise<TestServer> {
  const captioner = await acquireCaptioner(EMBEDDED_CAPTIONER);
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    mediaDir,
    captioner,
    captionerName: 'embedded',
    pipeline: { output: { width: 160, height: 120, fps: 10 } },
    cluster: { url: redisUrl, role: 'all', nodeId, timing: { leaseMs: 2_000, tickMs: 250 } },
  });
  return {
    server,
    events: recordBroadcasts(server),
    close: async () => {
      await server.close();
      await releaseCaptioner(EMBEDDED_CAPTIONER);
    },
  };
}
