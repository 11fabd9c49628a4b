/**
 * The streams as a cluster's web node sees them (serve --cluster, role web or all): the registry
 * in Redis says which streams exist, the leases which worker runs each, the workers' heartbeats
 * how each is doing. Events come from the node's reader (cluster/reader.ts) in order: each is
 * copied into this node's own history store first (its search index and time ranges, rebuilt from
 * Redis when it is new) and then published to the node's viewers, exactly as the single server
 * publishes after writing. Adding and removing go to Redis, so any web node may take them.
 */
import type { SequencedMessage, StatusMessage, StreamMessage } from '../core/events.js';
import { parseSource, type SourceRules } from '../ingest/source.js';
import { newCounters } from '../pipeline/stream-pipeline.js';
import type { HistoryStore } from '../store/history-store.js';
import { log } from '../util/log.js';
import { redactUrl } from '../util/redact.js';
import { EventLog, type LogEntry } from '../cluster/event-log.js';
import type { ClusterKeys } from '../cluster/keys.js';
import { Leases } from '../cluster/leases.js';
import type { CommandSender } from '../cluster/lua.js';
import { ClusterReader, READER_DEFAULTS, type ReaderOptions } from '../cluster/reader.js';
import { type Registration, StreamRegistry } from '../cluster/registry.js';
import { liveNodes, type NodeHeartbeat } from '../cluster/worker.js';
import type { ClusterView, StreamRequest } from './api-schemas.js';
import type { HistoryWriteStats, StreamDirectory, StreamInfo } from './directory.js';
import { startReplay, type PendingReplay, type ReplayLimits } from './replay.js';
import { StreamConflictError, StreamInputError } from './streams.js';

export interface ClusterStreamsOptions {
  rules: SourceRules;
  /** This node's own copy of the events. */
  store: HistoryStore;
  /** How often the node reads the registry, leases and heartbeats again (ms). */
  refreshMs: number;
  reader?: ReaderOptions;
}

export class ClusterStreams implements StreamDirectory {
  readonly store: HistoryStore;
  readonly historyWrites: HistoryWriteStats = { failures: 0, heldBack: 0 };
  private registrations = new Map<string, Registration>();
  private owners = new Map<string, string>();
  private nodes: NodeHeartbeat[] = [];
  private readonly statuses = new Map<string, StatusMessage>();
  private readonly registry: StreamRegistry;
  private readonly leases: Leases;
  private readonly events: EventLog;
  private readonly reader: ClusterReader;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly redis: CommandSender,
    /** A connection for the reader alone (its blocking read holds it). */
    readerConnection: CommandSender,
    private readonly keys: ClusterKeys,
    private readonly options: ClusterStreamsOptions,
    private readonly emit: (message: StreamMessage) => void,
  ) {
    this.store = options.store;
    this.registry = new StreamRegistry(redis, keys);
    this.leases = new Leases(redis, keys, 0);
    this.events = new EventLog(redis, keys);
    this.reader = new ClusterReader(
      readerConnection,
      keys,
      this.registry,
      {
        entry: (stream, entry) => this.received(stream, entry),
        gap: (stream, from, to) => log.warn('cluster: events past retention before this node read them', { stream, from, to }),
        added: () => void this.refresh().catch(() => undefined),
        removed: (stream) => {
          this.registrations.delete(stream);
          this.owners.delete(stream);
          const stopped: StatusMessage = { type: 'status', stream, state: 'stopped' };
          this.statuses.set(stream, stopped);
          this.emit(stopped);
        },
      },
      options.reader ?? READER_DEFAULTS,
    );
  }

  /** Reads the cluster's state and starts following its events from what this node already holds. */
  async start(): Promise<void> {
    await this.refresh();
    // Each stream's status as it is now: the reader starts after what this node already holds,
    // which may be past the last status.
    const ids = [...this.registrations.keys()];
    if (ids.length) {
      const statuses = await this.redis.sendCommand<(string | null)[]>(['MGET', ...ids.map((id) => this.keys.status(id))]);
      statuses.forEach((json, k) => {
        if (json !== null) this.statuses.set(ids[k], JSON.parse(json) as StatusMessage);
      });
    }
    await this.reader.start((id) => this.store.lastSeq(id));
    const again = () => {
      if (this.closed) return;
      this.timer = setTimeout(() => {
        this.refresh()
          .catch((err: Error) => log.warn('cluster: cannot read the cluster state', { error: err.message }))
          .finally(again);
      }, this.options.refreshMs);
    };
    again();
  }

  /** Resolves once this node holds every event Redis had when it started. */
  ready(): Promise<void> {
    return this.reader.ready();
  }

  /** The nodes whose heartbeat has not run out, as last read. */
  liveNodes(): NodeHeartbeat[] {
    return this.nodes;
  }

  /** The cluster's live nodes and the streams each holds, as last read (GET /api/cluster). */
  view(node: string): ClusterView {
    return {
      cluster: true,
      node,
      nodes: this.nodes.map((n) => ({
        id: n.node,
        role: n.role,
        capacity: n.capacity,
        captioners: n.captioners,
        streams: [...this.owners].filter(([, owner]) => owner === n.node).map(([id]) => id),
        startedAt: n.startedAt,
        lastHeartbeat: n.heartbeatAt,
      })),
    };
  }

  /** Which node holds each stream's lease, as last read. */
  owner(id: string): string | undefined {
    return this.owners.get(id);
  }

  async refresh(): Promise<void> {
    const registrations = await this.registry.all();
    const ids = [...registrations.keys()];
    const owners = new Map([...(await this.leases.holders(ids))].map(([id, h]) => [id, h.node]));
    this.nodes = await liveNodes(this.redis, this.keys);
    this.registrations = registrations;
    this.owners = owners;
  }

  private received(stream: string, entry: LogEntry): void {
    let message: StreamMessage;
    try {
      message = JSON.parse(entry.json) as StreamMessage;
    } catch {
      log.error('cluster: an event in Redis is not JSON; skipped', { stream, id: entry.id });
      return;
    }
    if (message.type === 'status') {
      this.statuses.set(stream, message);
    } else {
      try {
        this.store.append(message);
      } catch (err) {
        // This node's copy is only for search and time ranges: viewers still get the event.
        this.historyWrites.failures++;
        log.warn('cluster: cannot copy an event into this node’s history', { stream, seq: message.seq, error: (err as Error).message });
      }
    }
    this.emit(message);
  }

  private info(id: string, registration: Registration): StreamInfo {
    const node = this.owners.get(id);
    const heartbeat = node === undefined ? undefined : this.nodes.find((n) => n.node === node);
    const running = heartbeat?.streams.find((s) => s.id === id) as (Record<string, unknown> & { state?: string; lastSeq?: number }) | undefined;
    const status = this.statuses.get(id);
    const kind = (registration.kind ?? 'file') as StreamInfo['kind'];
    const state = (node === undefined ? 'unassigned' : (running?.state ?? status?.state ?? 'connecting')) as StreamInfo['state'];
    return {
      id,
      url: redactUrl(registration.url),
      kind,
      state,
      ...(typeof running?.error === 'string' ? { error: running.error } : status?.error ? { error: status.error } : {}),
      ...(typeof running?.note === 'string' && { note: running.note }),
      lastSeq: Math.max(this.store.lastSeq(id), running?.lastSeq ?? 0),
      counters: (running?.counters as StreamInfo['counters'] | undefined) ?? newCounters(),
      captioner: registration.captioner ?? heartbeat?.captioners[0] ?? 'default',
      ...(registration.prompt !== undefined && { prompt: registration.prompt }),
      summaries: running?.summaries === true,
      ...(typeof running?.degraded === 'string' && { degraded: running.degraded }),
      saved: true,
      node: node ?? null,
    };
  }

  list(): StreamInfo[] {
    return [...this.registrations].map(([id, r]) => this.info(id, r));
  }

  get(id: string): StreamInfo | undefined {
    const r = this.registrations.get(id);
    return r && this.info(id, r);
  }

  has(id: string): boolean {
    return this.registrations.has(id);
  }

  async create({ id, url, captioner, prompt }: StreamRequest): Promise<StreamInfo> {
    const problems: string[] = [];
    let kind: string | undefined;
    try {
      kind = parseSource(url, this.options.rules).kind;
    } catch (err) {
      problems.push((err as Error).message);
    }
    if (captioner !== undefined) {
      const known = new Set(this.nodes.filter((n) => n.role !== 'web').flatMap((n) => n.captioners));
      if (!known.has(captioner))
        problems.push(`captioner must be one that a live worker loaded (${[...known].map((n) => `'${n}'`).join(', ') || 'no worker is live'}); got ${JSON.stringify(captioner)}`);
    }
    if (problems.length) throw new StreamInputError(problems.join('; '));
    const registration: Registration = { url, kind, added: Date.now(), origin: 'api', ...(captioner !== undefined && { captioner }), ...(prompt !== undefined && { prompt }) };
    if (!(await this.registry.add(id, registration))) throw new StreamConflictError(`stream '${id}' already exists`);
    this.registrations.set(id, registration);
    log.info('cluster: stream added', { stream: id, url: redactUrl(url) });
    return this.info(id, registration);
  }

  async forget(id: string): Promise<boolean> {
    const removed = await this.registry.remove(id);
    if (removed) {
      this.registrations.delete(id);
      this.owners.delete(id);
      log.info('cluster: stream removed', { stream: id });
    }
    return removed;
  }

  history(id: string, since = 0, limit = 100): SequencedMessage[] {
    return this.store.since(id, since, limit);
  }

  replay(id: string, since: number, limits: Pick<ReplayLimits, 'maxEvents' | 'maxBytes' | 'chunkRows'>, allowance?: { events: number; bytes: number }, stop?: () => boolean): PendingReplay {
    return startReplay(this.store, id, since, limits, allowance, stop);
  }

  status(id: string): StatusMessage | undefined {
    return this.statuses.get(id);
  }

  degraded(): { stream: string; reason: string }[] {
    return this.list()
      .filter((s) => s.degraded)
      .map((s) => ({ stream: s.id, reason: s.degraded! }));
  }

  keyframe(id: string, seq: number): Promise<Buffer | undefined> {
    return this.events.keyframe(id, seq);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.reader.stop();
  }
}
