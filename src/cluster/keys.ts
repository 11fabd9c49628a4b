/**
 * Where livecap keeps a cluster's state in Redis, and how a stream's `seq` maps to the IDs of its
 * Redis Stream of events.
 *
 * Every per-stream key carries the stream id in braces (a hash tag), so that one stream's keys
 * would stay together on one shard. Stream ids never contain braces or colons.
 *
 * Event IDs: the event with seq N is entry `N-0`; a status (which has no seq of its own) that
 * follows seq N is `N-1`, `N-2`… (`0-1` before any event). Everything after seq S is then the
 * range after `S-0`, the events after it from `S+1-0`, exactly, and statuses sort where they
 * happened.
 */

export const DEFAULT_PREFIX = 'livecap:';

export interface ClusterKeys {
  /** HASH: stream id → its registration (JSON). */
  streams: string;
  /** STREAM: adds and removals, read by every web node. */
  control: string;
  /** ZSET: node id → last heartbeat (ms). */
  nodes: string;
  node(nodeId: string): string;
  /** STRING "<token> <node>", with a TTL: who runs the stream. */
  lease(id: string): string;
  /** STRING counter: the fencing token, incremented on every acquire, never deleted. */
  fence(id: string): string;
  /** STRING counter: the last seq used, never deleted, so a stream added again carries on. */
  seq(id: string): string;
  /** STREAM: the stream's events. */
  events(id: string): string;
  /** STREAM: keyframe JPEGs, entry `<seq>-0`, trimmed with the events. */
  keyframes(id: string): string;
  /** STRING: the stream's last status (JSON). */
  status(id: string): string;
  /** STRING with a TTL: whoever sets it removes events past their age, for every stream, this minute. */
  sweep: string;
  /** A SCAN pattern that matches every stream's events key, and the stream id of such a key. */
  allEvents: string;
  streamOfEvents(key: string): string | undefined;
}

export function clusterKeys(prefix = DEFAULT_PREFIX): ClusterKeys {
  const per = (id: string, what: string) => `${prefix}{${id}}:${what}`;
  return {
    streams: `${prefix}streams`,
    control: `${prefix}control`,
    nodes: `${prefix}nodes`,
    node: (nodeId) => `${prefix}node:${nodeId}`,
    lease: (id) => per(id, 'lease'),
    fence: (id) => per(id, 'fence'),
    seq: (id) => per(id, 'seq'),
    events: (id) => per(id, 'events'),
    keyframes: (id) => per(id, 'kf'),
    status: (id) => per(id, 'status'),
    sweep: `${prefix}sweep`,
    allEvents: `${prefix}{*}:events`,
    streamOfEvents: (key) => (key.startsWith(`${prefix}{`) && key.endsWith('}:events') ? key.slice(prefix.length + 1, -'}:events'.length) : undefined),
  };
}

/** The entry ID of the event with this seq. */
export const seqEntryId = (seq: number): string => `${seq}-0`;

/** Where a read of the events (not statuses) after seq `since` starts, inclusive. */
export const afterSeq = (since: number): string => `${since + 1}-0`;

/**
 * What an entry ID says: the seq of an event (`N-0`), or, for a status (`N-k`, k > 0), the seq
 * it follows.
 */
export function parseEntryId(id: string): { seq: number; status: boolean } {
  const dash = id.indexOf('-');
  const ms = Number(id.slice(0, dash));
  const part = Number(id.slice(dash + 1));
  if (dash < 1 || !Number.isSafeInteger(ms) || !Number.isSafeInteger(part)) throw new Error(`not a Redis Stream entry ID: ${JSON.stringify(id)}`);
  return { seq: ms, status: part > 0 };
}
