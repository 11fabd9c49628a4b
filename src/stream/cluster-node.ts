/**
 * One node of a cluster (serve --cluster): connections to Redis, the node's view of the streams
 * and their events (every role serves the API), and, for the roles worker and all, the worker that
 * runs its share of the streams. A web node beats too (capacity 0), so the cluster lists it.
 */
import { createClient } from '@redis/client';
import type { StreamMessage } from '../core/events.js';
import type { SourceRules } from '../ingest/source.js';
import type { PipelineOptions } from '../pipeline/stream-pipeline.js';
import type { HistoryStore } from '../store/history-store.js';
import { log } from '../util/log.js';
import { redactUrl } from '../util/redact.js';
import { EventLog } from '../cluster/event-log.js';
import { clusterKeys } from '../cluster/keys.js';
import { READER_DEFAULTS } from '../cluster/reader.js';
import { CLUSTER_TIMING, type ClusterTiming, ClusterWorker, type NodeRole } from '../cluster/worker.js';
import { ClusterStreamRunner } from './cluster-worker-streams.js';
import { ClusterStreams } from './cluster-streams.js';
import { HISTORY_DEFAULTS } from '../store/history-options.js';
import type { CaptionerChoice } from './streams.js';

/** Several processes on Redis (serve --cluster). */
export interface ClusterOptions {
  /** redis://[user:password@]HOST:PORT[/DB] or rediss://… */
  url: string;
  role: NodeRole;
  nodeId: string;
  /** Key prefix, for a Redis that others share (default livecap:). */
  prefix?: string;
  /** The most streams this node runs as a worker (default: the server's max streams). */
  capacity?: number;
  timing?: Partial<ClusterTiming>;
}

export interface ClusterNode {
  nodeId: string;
  role: ClusterOptions['role'];
  streams: ClusterStreams;
  worker: ClusterWorker;
  close(): Promise<void>;
}

export interface ClusterNodeDeps {
  /** The captioners a worker runs streams with; a web node has none. */
  choice?: CaptionerChoice;
  rules: SourceRules;
  pipeline: Omit<PipelineOptions, 'streamId'>;
  /** This node's own copy of the events. */
  store: HistoryStore;
  maxStreams: number;
  /** Events kept per stream in Redis (default 100,000), and for how long (ms; default 30 days). */
  maxEvents?: number;
  maxAgeMs?: number;
}

const CONNECT_TIMEOUT_MS = 5_000;
/** How long a connection to Redis may stay silent before it is taken for dead and made again. */
const SILENT_LINK_MS = 10_000;

/**
 * A connection to Redis that reconnects with backoff. `silentMs`: a connection that has sent and
 * received nothing for that long is dropped and made again. Each connection is busy at least
 * every tick (the reader's blocking read answers every 2 s), so silence means a link that died
 * without closing (a partition, a peer gone); TCP alone would notice only after minutes.
 */
async function connect(url: string, name: string, silentMs: number) {
  const client = createClient({
    url,
    name,
    socket: { connectTimeout: CONNECT_TIMEOUT_MS, socketTimeout: silentMs, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 5_000) },
  });
  let said = false;
  client.on('error', (err: Error) => {
    if (!said) log.warn('cluster: Redis connection failing; reconnecting with backoff', { redis: redactUrl(url), connection: name, error: err.message });
    said = true;
  });
  client.on('ready', () => {
    if (said) log.info('cluster: Redis connection back', { redis: redactUrl(url), connection: name });
    said = false;
  });
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS).unref());
  try {
    await Promise.race([client.connect(), timeout]);
  } catch (err) {
    client.destroy();
    throw new Error(`cannot reach Redis at ${redactUrl(url)}: ${(err as Error).message}`);
  }
  return client;
}

export async function startClusterNode(options: ClusterOptions, deps: ClusterNodeDeps, emit: (m: StreamMessage) => void): Promise<ClusterNode> {
  const timing = { ...CLUSTER_TIMING, ...options.timing };
  const keys = clusterKeys(options.prefix);
  const silentMs = Math.max(SILENT_LINK_MS, 3 * timing.tickMs);
  const main = await connect(options.url, `livecap-${options.nodeId}`, silentMs);
  let reading: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    reading = await connect(options.url, `livecap-${options.nodeId}-reader`, READER_DEFAULTS.blockMs + silentMs);
    const streams = new ClusterStreams(main, reading, keys, { rules: deps.rules, store: deps.store, refreshMs: timing.tickMs }, emit);
    await streams.start();
    const events = new EventLog(main, keys);
    const choice = options.role === 'web' ? undefined : deps.choice;
    const runner = choice && new ClusterStreamRunner(choice, { rules: deps.rules, pipeline: deps.pipeline, maxEvents: deps.maxEvents ?? 100_000 }, events);
    const works = runner !== undefined;
    const worker = new ClusterWorker(main, keys, {
      node: options.nodeId,
      role: options.role,
      capacity: works ? (options.capacity ?? deps.maxStreams) : 0,
      captioners: choice ? [choice.defaultName, ...(choice.named?.keys() ?? [])] : [],
      ...timing,
      run: (id, registration, lease, lost) => {
        if (!runner) throw new Error('a web node runs no stream');
        return runner.run(id, registration, lease, lost);
      },
    });
    await worker.claim();
    worker.start();
    // Age retention: one worker a minute removes the events past their age, of every stream.
    const sweeper = works
      ? setInterval(() => {
          events
            .sweepOlderThan(Date.now() - (deps.maxAgeMs ?? HISTORY_DEFAULTS.maxAgeMs))
            .then((removed) => removed && log.info('cluster: removed events past retention', { events: removed }))
            .catch((err: Error) => log.warn('cluster: cannot remove events past retention now', { error: err.message }));
        }, 60_000)
      : undefined;
    sweeper?.unref();
    log.info('cluster: node started', { node: options.nodeId, role: options.role, redis: redactUrl(options.url) });
    const client = reading;
    return {
      nodeId: options.nodeId,
      role: options.role,
      streams,
      worker,
      close: async () => {
        clearInterval(sweeper);
        await worker.close();
        await streams.close();
        main.destroy();
        client.destroy();
      },
    };
  } catch (err) {
    main.destroy();
    reading?.destroy();
    throw err;
  }
}
