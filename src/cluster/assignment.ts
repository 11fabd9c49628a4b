/**
 * Which unowned streams a worker takes: its fair share of the streams over the live workers (at
 * most its capacity), preferring the streams that rank highest for it by rendezvous hashing, so
 * that workers looking at the same free streams at the same moment mostly want different ones.
 * Pure functions: the worker's loop (worker.ts) feeds them what Redis says.
 */
import { createHash } from 'node:crypto';

/** How much a node wants a stream: the same on every node, different for every pair. */
export function rendezvousScore(node: string, stream: string): bigint {
  return createHash('sha256').update(node).update('\0').update(stream).digest().readBigUInt64BE(0);
}

/** The streams ranked for a node, the one it wants most first. */
export function rankFor(node: string, streams: readonly string[]): string[] {
  return streams
    .map((s) => ({ s, score: rendezvousScore(node, s) }))
    .sort((a, b) => (a.score === b.score ? 0 : a.score > b.score ? -1 : 1))
    .map((x) => x.s);
}

/** A worker's fair share: the streams spread evenly over the live workers, never above its capacity. */
export function fairShare(streams: number, workers: number, capacity: number): number {
  if (streams === 0) return 0;
  return Math.min(capacity, Math.ceil(streams / Math.max(1, workers)));
}

export interface AssignmentView {
  node: string;
  capacity: number;
  /** Every registered stream. */
  streams: readonly string[];
  /** Streams with a lease, and who holds it. */
  owners: ReadonlyMap<string, string>;
  /** Live workers, this one included. */
  workers: number;
  /** Streams this worker may not take now (it gave them up a moment ago, or cannot run them). */
  skip?: ReadonlySet<string>;
  /** Streams that have been without an owner for a while: taken beyond the fair share, up to capacity. */
  starving?: ReadonlySet<string>;
  /** The most streams to take in one go. */
  maxPerTick?: number;
}

/** The unowned streams this worker should try to take now, in order. */
export function streamsToTake(view: AssignmentView): string[] {
  const mine = [...view.owners.values()].filter((n) => n === view.node).length;
  const free = view.streams.filter((s) => !view.owners.has(s) && !view.skip?.has(s));
  const share = fairShare(view.streams.length, view.workers, view.capacity);
  const ranked = rankFor(view.node, free);
  const room = Math.min(view.maxPerTick ?? 4, view.capacity - mine);
  if (room <= 0) return [];
  const fair = ranked.slice(0, Math.max(0, Math.min(room, share - mine)));
  // Every stream should run while any worker has room, even beyond an even spread.
  const extra = ranked.filter((s) => !fair.includes(s) && view.starving?.has(s));
  return [...fair, ...extra].slice(0, room);
}

/**
 * The stream a worker should give up so that streams spread evenly (one at a time, as each move
 * restarts a stream's captions): when it runs more than its fair share and another live worker
 * runs at least two fewer, the stream it ranks lowest.
 */
export function streamToShed(view: AssignmentView & { loads: ReadonlyMap<string, number> }): string | undefined {
  const mine = view.streams.filter((s) => view.owners.get(s) === view.node);
  if (mine.length <= fairShare(view.streams.length, view.workers, view.capacity)) return undefined;
  const lighter = [...view.loads].some(([node, load]) => node !== view.node && load <= mine.length - 2);
  return lighter ? rankFor(view.node, mine).at(-1) : undefined;
}
