/**
 * The streams a cluster runs, kept in Redis so that they outlive every process: added and removed
 * through any web node, each change also written to the control stream that wakes the web nodes'
 * readers.
 */
import type { ClusterKeys } from './keys.js';
import type { CommandSender } from './lua.js';

export interface Registration {
  url: string;
  /** What kind of source the URL is (rtsp, http, file…), as the node that added it read it. */
  kind?: string;
  captioner?: string;
  prompt?: string;
  /** Milliseconds since the epoch. */
  added: number;
  /** Added over the API, or from a node's configuration. */
  origin: 'api' | 'config';
}

export type ControlOp = { op: 'add' | 'remove'; id: string };

export class StreamRegistry {
  constructor(
    private readonly redis: CommandSender,
    private readonly keys: ClusterKeys,
  ) {}

  /** Registers a stream; false when the id is taken. */
  async add(id: string, registration: Registration): Promise<boolean> {
    const added = (await this.redis.sendCommand<number>(['HSETNX', this.keys.streams, id, JSON.stringify(registration)])) === 1;
    if (added) await this.control({ op: 'add', id });
    return added;
  }

  /**
   * Unregisters a stream and ends its lease at once, so that its worker's next append is refused
   * (it stops within a renewal). Its events stay until retention removes them. False when there was none.
   */
  async remove(id: string): Promise<boolean> {
    const removed = (await this.redis.sendCommand<number>(['HDEL', this.keys.streams, id])) === 1;
    if (removed) {
      await this.redis.sendCommand(['DEL', this.keys.lease(id)]);
      await this.control({ op: 'remove', id });
    }
    return removed;
  }

  async get(id: string): Promise<Registration | undefined> {
    const json = await this.redis.sendCommand<string | null>(['HGET', this.keys.streams, id]);
    return json === null ? undefined : (JSON.parse(json) as Registration);
  }

  /** Every registered stream, by id. */
  async all(): Promise<Map<string, Registration>> {
    const flat = await this.redis.sendCommand<Record<string, string> | string[]>(['HGETALL', this.keys.streams]);
    const pairs: [string, string][] = Array.isArray(flat) ? Array.from({ length: flat.length / 2 }, (_, k) => [flat[2 * k], flat[2 * k + 1]]) : Object.entries(flat);
    return new Map(pairs.map(([id, json]) => [id, JSON.parse(json) as Registration]));
  }

  private async control(op: ControlOp): Promise<void> {
    await this.redis.sendCommand(['XADD', this.keys.control, 'MAXLEN', '~', '1000', '*', 'op', op.op, 'id', op.id]);
  }
}
