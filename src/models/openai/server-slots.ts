/**
 * How many requests may be in flight at once to one model server (a baseUrl), shared by every
 * captioner and stream that uses it: a GPU server answers a few requests at a time well, and
 * a queue of them on its side only adds latency. Requests past the limit wait here, in order;
 * the pipeline keeps only the newest keyframe per stream waiting, so the queue is at most one
 * request per stream.
 *
 *   const slots = acquireSlots('http://127.0.0.1:11434/v1', 2);
 *   const text = await slots.run(() => post(…), signal);
 *   slots.release();
 *
 * When captioners name different limits for one server, the smallest holds.
 */
interface Server {
  limit: number;
  busy: number;
  users: number;
  waiting: (() => void)[];
}

const servers = new Map<string, Server>();

export interface ServerSlots {
  /** Runs `task` once a slot is free; rejects without running it if `signal` aborts first. */
  run<T>(task: () => Promise<T>, signal: AbortSignal): Promise<T>;
  /** This user's share ends (pair with `acquireSlots`). Safe to call twice. */
  release(): void;
}

export function acquireSlots(baseUrl: string, limit: number): ServerSlots {
  let server = servers.get(baseUrl);
  if (!server) servers.set(baseUrl, (server = { limit, busy: 0, users: 0, waiting: [] }));
  server.limit = Math.min(server.limit, limit);
  server.users++;
  const s = server;
  let released = false;
  const next = () => {
    while (s.busy < s.limit && s.waiting.length) s.waiting.shift()!();
  };
  return {
    async run<T>(task: () => Promise<T>, signal: AbortSignal): Promise<T> {
      if (signal.aborted) throw new Error('cancelled before a request slot was free');
      if (s.busy >= s.limit || s.waiting.length) {
        await new Promise<void>((resolve, reject) => {
          // The slot is handed over here, before the waiter runs, so `next` never over-fills.
          const start = () => {
            s.busy++;
            signal.removeEventListener('abort', cancel);
            resolve();
          };
          const cancel = () => {
            s.waiting.splice(s.waiting.indexOf(start), 1);
            reject(new Error('cancelled while waiting for a free request slot'));
          };
          s.waiting.push(start);
          signal.addEventListener('abort', cancel, { once: true });
        });
      } else {
        s.busy++;
      }
      try {
        return await task();
      } finally {
        s.busy--;
        next();
      }
    },
    release() {
      if (released) return;
      released = true;
      if (--s.users === 0 && servers.get(baseUrl) === s) servers.delete(baseUrl);
    },
  };
}
