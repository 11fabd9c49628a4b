/**
 * The main thread's side of the search thread (search-worker.ts): started with the first
 * search of a history file, one request at a time in order, each with a deadline. A thread
 * that misses a deadline by far (a query SQLite cannot be asked to stop) is terminated and the
 * next search starts a fresh one; its callers get an error that says so.
 */
import { Worker } from 'node:worker_threads';
import type { SearchLimits, SearchQuery, StoredHit } from './search.js';

/** How long past a search's own deadline the thread may take before it is replaced. */
const GRACE_MS = 5000;

export class SearchThread {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (hits: StoredHit[]) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  private closed = false;

  constructor(private readonly path: string) {}

  search(query: SearchQuery, limits: SearchLimits): Promise<StoredHit[]> {
    if (this.closed) return Promise.resolve([]);
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise<StoredHit[]>((resolve, reject) => {
      // Requests queue in the thread: allow for those ahead of this one.
      const waitMs = (this.pending.size + 1) * (limits.deadlineMs + GRACE_MS);
      const timer = setTimeout(() => this.replace(worker, new Error(`search thread did not answer within ${Math.round(waitMs / 1000)} s; it was restarted`)), waitMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      worker.postMessage({ id, query, limits });
    });
  }

  private start(): Worker {
    const worker = new Worker(new URL('./search-worker.js', import.meta.url), { workerData: { path: this.path }, name: 'history search' });
    worker.unref();
    worker.on('message', (reply: { id: number; hits?: StoredHit[]; error?: string }) => {
      const call = this.pending.get(reply.id);
      if (!call) return;
      this.pending.delete(reply.id);
      clearTimeout(call.timer);
      if (reply.error !== undefined) call.reject(new Error(`search failed: ${reply.error}`));
      else call.resolve(reply.hits!);
    });
    worker.on('error', (err) => this.replace(worker, new Error(`search thread failed: ${err.message}`)));
    worker.on('exit', (code) => this.replace(worker, new Error(`search thread exited (code ${code})`)));
    return worker;
  }

  /** Fails every waiting search and drops the thread; the next search starts a new one. */
  private replace(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    for (const call of this.pending.values()) {
      clearTimeout(call.timer);
      call.reject(err);
    }
    this.pending.clear();
    void worker.terminate();
  }

  /** Stops the thread; waiting searches get no hits. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const call of this.pending.values()) {
      clearTimeout(call.timer);
      call.resolve([]);
    }
    this.pending.clear();
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
