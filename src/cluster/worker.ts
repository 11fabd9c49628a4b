/**
 * A worker's side of the cluster: it takes leases on registered streams (its fair share, up to its
 * capacity), runs each stream it holds, renews the leases, and gives a stream up the moment its
 * lease is lost, removed or cannot be renewed in time. Its heartbeat tells the other nodes what it
 * runs and can run.
 *
 * Running a stream is the caller's (`run`): the server starts a pipeline that appends to the
 * stream's event log with the lease, and calls `lost` if an append is refused (fenced).
 */
import { performance } from 'node:perf_hooks';
import { log } from '../util/log.js';
import { streamsToTake, streamToShed } from './assignment.js';
import type { ClusterKeys } from './keys.js';
import { type Lease, Leases } from './leases.js';
import type { CommandSender } from './lua.js';
import { type Registration, StreamRegistry } from './registry.js';

export type NodeRole = 'all' | 'worker' | 'web';

/** What a node says about itself every heartbeat. */
export interface NodeHeartbeat {
  node: string;
  role: NodeRole;
  /** The most streams it runs (0 for a web node). */
  capacity: number;
  /** The captioners it can run, by name; the first is its default. */
  captioners: string[];
  streams: { id: string; state?: string; lastSeq?: number }[];
  startedAt: number;
  heartbeatAt: number;
}

export interface RunningStream {
  stop(reason: string): void;
  /** What the heartbeat says about it. */
  info(): { state?: string; lastSeq?: number };
}

export interface ClusterWorkerOptions {
  node: string;
  role: NodeRole;
  capacity: number;
  captioners: readonly string[];
  /** How long a lease lasts without renewal (ms); renewed every third of it. */
  leaseMs: number;
  /** How often the worker looks for streams to take, and beats (ms). */
  tickMs: number;
  /** How often, at most, it gives up a stream to even out the load (ms). */
  rebalanceMs: number;
  /** Starts running a stream this worker now holds; `lost` gives it up (an append was fenced). */
  run(id: string, registration: Registration, lease: Lease, lost: (reason: string) => void): RunningStream;
}

export interface ClusterTiming {
  leaseMs: number;
  tickMs: number;
  rebalanceMs: number;
}

export const CLUSTER_TIMING: ClusterTiming = { leaseMs: 5_000, tickMs: 1_000, rebalanceMs: 15_000 };

/**
 * The timing for a lease of `leaseMs`: a worker looks for streams to take every second (four times
 * a lease when it is shorter), and evens the load out at most every three leases (15 s at least).
 * A dead worker's streams start elsewhere within about a lease and a tick.
 */
export function clusterTiming(leaseMs: number): ClusterTiming {
  return { leaseMs, tickMs: Math.min(CLUSTER_TIMING.tickMs, Math.round(leaseMs / 4)), rebalanceMs: Math.max(CLUSTER_TIMING.rebalanceMs, 3 * leaseMs) };
}

interface Owned {
  lease: Lease;
  running: RunningStream;
  renewedAt: number;
}

export class ClusterWorker {
  private readonly leases: Leases;
  private readonly registry: StreamRegistry;
  private readonly owned = new Map<string, Owned>();
  /** Streams given up a moment ago: not taken back at once. */
  private readonly shed = new Map<string, number>();
  /** When each unowned stream was first seen unowned. */
  private readonly unownedSince = new Map<string, number>();
  private readonly startedAt = Date.now();
  private lastRebalance = performance.now();
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly redis: CommandSender,
    private readonly keys: ClusterKeys,
    private readonly options: ClusterWorkerOptions,
  ) {
    this.leases = new Leases(redis, keys, options.leaseMs);
    this.registry = new StreamRegistry(redis, keys);
  }

  /**
   * Claims the node id before `start`: its heartbeat is set only if no live node beats under
   * that id. A node that died with it frees it when its heartbeat runs out (a lease, at most), so
   * a restarted node waits that long; a node still beating under it is an error naming the id.
   */
  async claim(): Promise<void> {
    const { node } = this.options;
    const key = this.keys.node(node);
    const deadline = performance.now() + this.heartbeatTtl() + this.options.tickMs;
    let first: string | null | undefined;
    for (;;) {
      if ((await this.redis.sendCommand(['SET', key, JSON.stringify(this.heartbeat()), 'NX', 'PX', String(this.heartbeatTtl())])) === 'OK') return;
      const seen = await this.redis.sendCommand<string | null>(['GET', key]);
      first ??= seen;
      const other = seen === null ? undefined : (JSON.parse(seen) as NodeHeartbeat);
      if ((seen !== null && seen !== first) || performance.now() > deadline) {
        const ago = other ? `${((Date.now() - other.heartbeatAt) / 1000).toFixed(1)} s ago` : 'just now';
        throw new Error(`node id '${node}' is in use: a live ${other?.role ?? ''} node beats under it (last heartbeat ${ago}); give each node its own --node-id`);
      }
      await new Promise((r) => setTimeout(r, Math.min(250, this.options.tickMs)));
    }
  }

  /** Beats, takes streams and renews leases until `close`. */
  start(): void {
    const every = (ms: number, work: () => Promise<void>, first = ms) => {
      const loop = async () => {
        if (this.closed) return;
        await work().catch((err: Error) => log.warn('cluster: worker step failed', { node: this.options.node, error: err.message }));
        if (!this.closed) this.timers.push(setTimeout(loop, ms * (0.8 + 0.4 * Math.random())));
      };
      this.timers.push(setTimeout(loop, first));
    };
    every(this.options.tickMs, () => this.tick(), Math.random() * Math.min(500, this.options.tickMs));
    every(this.options.leaseMs / 3, () => this.renew());
  }

  /** The streams this worker runs now. */
  streams(): string[] {
    return [...this.owned.keys()];
  }

  /** One round: beat, then stop what is no longer ours and take what is ours to take. */
  async tick(): Promise<void> {
    if (this.ticking !== undefined) return this.ticking;
    this.ticking = this.round().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async round(): Promise<void> {
    const { node } = this.options;
    await this.beat();
    const registry = await this.registry.all();
    const ids = [...registry.keys()];
    const holders = await this.leases.holders(ids);
    const owners = new Map([...holders].map(([id, h]) => [id, h.node]));
    for (const [id, owned] of this.owned) {
      const holder = holders.get(id);
      if (!registry.has(id)) this.drop(id, 'removed from the cluster');
      else if (!holder || holder.token !== owned.lease.token) this.drop(id, 'lease lost');
    }
    if (this.closed || this.options.capacity <= 0) return;

    const now = performance.now();
    for (const [id, at] of this.shed) if (now - at > this.options.rebalanceMs * 2) this.shed.delete(id);
    for (const id of ids) if (owners.has(id)) this.unownedSince.delete(id);
    for (const id of this.unownedSince.keys()) if (!registry.has(id)) this.unownedSince.delete(id);
    for (const id of ids) if (!owners.has(id) && !this.unownedSince.has(id)) this.unownedSince.set(id, now);
    const nodes = await this.liveNodes();
    const workers = nodes.filter((n) => n.role !== 'web' && n.capacity > 0);
    const skip = new Set(this.shed.keys());
    for (const [id, r] of registry) if (r.captioner !== undefined && !this.options.captioners.includes(r.captioner)) skip.add(id);
    const starving = new Set([...this.unownedSince].filter(([, since]) => now - since >= 2 * this.options.tickMs).map(([id]) => id));
    const view = { node, capacity: this.options.capacity, streams: ids, owners, workers: Math.max(1, workers.length), skip, starving };
    for (const id of streamsToTake(view)) {
      if (this.closed) return;
      const lease = await this.leases.acquire(id, node).catch(() => undefined);
      const registration = registry.get(id);
      if (!lease || !registration) continue;
      owners.set(id, node);
      this.begin(id, registration, lease);
    }
    if (now - this.lastRebalance >= this.options.rebalanceMs) {
      this.lastRebalance = now;
      const loads = new Map(workers.map((w) => [w.node, [...owners.values()].filter((o) => o === w.node).length]));
      const give = streamToShed({ ...view, owners, loads });
      if (give) {
        const owned = this.owned.get(give);
        this.drop(give, 'moved to a less busy worker');
        this.shed.set(give, now);
        if (owned) await this.leases.release(owned.lease).catch(() => undefined);
      }
    }
  }

  private begin(id: string, registration: Registration, lease: Lease): void {
    log.info('cluster: stream taken', { stream: id, node: this.options.node, token: lease.token });
    const owned: Owned = { lease, renewedAt: performance.now(), running: { stop: () => undefined, info: () => ({}) } };
    this.owned.set(id, owned);
    try {
      owned.running = this.options.run(id, registration, lease, (reason) => {
        if (this.owned.get(id) === owned) this.drop(id, reason);
      });
    } catch (err) {
      log.error('cluster: stream cannot start', { stream: id, error: (err as Error).message });
      this.owned.delete(id);
      void this.leases.release(lease).catch(() => undefined);
    }
  }

  /** Stops running a stream (its lease is lost, released or about to be). */
  private drop(id: string, reason: string): void {
    const owned = this.owned.get(id);
    if (!owned) return;
    this.owned.delete(id);
    log.warn(`cluster: stream given up: ${reason}`, { stream: id, node: this.options.node, token: owned.lease.token });
    owned.running.stop(reason);
  }

  /** Renews every lease; a lease lost, or not renewed within most of its life, stops its stream. */
  private async renew(): Promise<void> {
    await Promise.all(
      [...this.owned].map(async ([id, owned]) => {
        try {
          if (await this.leases.renew(owned.lease)) owned.renewedAt = performance.now();
          else this.drop(id, 'lease lost');
        } catch (err) {
          // Redis may still hold the lease, but it will run out: stop before it does, so two
          // workers never run one stream (the fenced appends would be refused anyway).
          if (performance.now() - owned.renewedAt > this.options.leaseMs * 0.8) this.drop(id, `cannot renew the lease (${(err as Error).message})`);
        }
      }),
    );
  }

  private heartbeat(): NodeHeartbeat {
    const { node, role, capacity, captioners } = this.options;
    return { node, role, capacity, captioners: [...captioners], streams: [...this.owned].map(([id, o]) => ({ id, ...o.running.info() })), startedAt: this.startedAt, heartbeatAt: Date.now() };
  }

  private async beat(): Promise<void> {
    const now = Date.now();
    await this.redis.sendCommand(['SET', this.keys.node(this.options.node), JSON.stringify(this.heartbeat()), 'PX', String(this.heartbeatTtl())]);
    await this.redis.sendCommand(['ZADD', this.keys.nodes, String(now), this.options.node]);
    await this.redis.sendCommand(['ZREMRANGEBYSCORE', this.keys.nodes, '-inf', String(now - 3_600_000)]);
  }

  /** How long a heartbeat lasts: a lease, or three ticks when longer. */
  private heartbeatTtl(): number {
    return Math.max(this.options.leaseMs, 3 * this.options.tickMs);
  }

  /** The nodes whose heartbeat has not run out. */
  async liveNodes(): Promise<NodeHeartbeat[]> {
    return liveNodes(this.redis, this.keys);
  }

  /** Stops every stream and gives every lease back at once, so other workers take them over without waiting. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    await this.ticking?.catch(() => undefined);
    const owned = [...this.owned.values()];
    for (const id of [...this.owned.keys()]) this.drop(id, 'the worker is stopping');
    await Promise.all(owned.map((o) => this.leases.release(o.lease).catch(() => undefined)));
    await this.redis.sendCommand(['DEL', this.keys.node(this.options.node)]).catch(() => undefined);
    await this.redis.sendCommand(['ZREM', this.keys.nodes, this.options.node]).catch(() => undefined);
  }
}

/** The nodes of a cluster whose heartbeat has not run out. */
export async function liveNodes(redis: CommandSender, keys: ClusterKeys): Promise<NodeHeartbeat[]> {
  const ids = await redis.sendCommand<string[]>(['ZRANGE', keys.nodes, '0', '-1']);
  if (ids.length === 0) return [];
  const values = await redis.sendCommand<(string | null)[]>(['MGET', ...ids.map((id) => keys.node(id))]);
  return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as NodeHeartbeat);
}
