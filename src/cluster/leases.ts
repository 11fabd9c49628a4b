/**
 * Who runs a stream: a lease in Redis that its holder renews, with a fencing token that grows on
 * every acquire, so that a holder that was paused past its lease and wakes up can never write
 * again (every append checks the lease and the token atomically, see event-log.ts).
 */
import type { ClusterKeys } from './keys.js';
import type { CommandSender } from './lua.js';
import { ACQUIRE, RENEW } from './scripts.js';

export interface Lease {
  stream: string;
  node: string;
  /** The fencing token: larger for every later holder. */
  token: string;
}

export class Leases {
  constructor(
    private readonly redis: CommandSender,
    private readonly keys: ClusterKeys,
    /** How long a lease lasts without renewal, in ms. */
    readonly leaseMs: number,
  ) {}

  /** Takes the stream's lease for `node`, or undefined when someone holds it. */
  async acquire(stream: string, node: string): Promise<Lease | undefined> {
    const token = await ACQUIRE.run<number | null>(this.redis, [this.keys.streams, this.keys.lease(stream), this.keys.fence(stream)], [stream, node, String(this.leaseMs)]);
    return token === null ? undefined : { stream, node, token: String(token) };
  }

  /** Extends the lease; false when it was lost (expired and perhaps taken by another node). */
  async renew(lease: Lease): Promise<boolean> {
    return (await RENEW.run<number>(this.redis, [this.keys.lease(lease.stream)], [lease.node, lease.token, String(this.leaseMs)])) === 1;
  }

  /** Gives the lease up at once, so another node may take the stream without waiting for it to expire. */
  async release(lease: Lease): Promise<boolean> {
    return (await RENEW.run<number>(this.redis, [this.keys.lease(lease.stream)], [lease.node, lease.token, '0'])) === 1;
  }

  /** Who holds each of these streams' leases now: streams nobody holds are not in the map. */
  async holders(streams: readonly string[]): Promise<Map<string, Omit<Lease, 'stream'>>> {
    const held = new Map<string, Omit<Lease, 'stream'>>();
    if (streams.length === 0) return held;
    const values = await this.redis.sendCommand<(string | null)[]>(['MGET', ...streams.map((s) => this.keys.lease(s))]);
    values.forEach((v, k) => {
      if (v === null) return;
      const space = v.indexOf(' ');
      held.set(streams[k], { token: v.slice(0, space), node: v.slice(space + 1) });
    });
    return held;
  }
}
