/**
 * Request/response calls into a worker thread, so model inference never runs on the event loop.
 *
 * Main side: `WorkerRpc` starts the worker, sends `{id, method, args}` and settles each call's
 * promise from the matching reply. If the worker dies, every pending and later call rejects with
 * an error that names the worker and the cause. `close()` is idempotent.
 * Worker side: `serveRpc(handlers)` answers calls one at a time, in order, so a model (one
 * native session) never sees two calls at once.
 */
import { Worker, parentPort, type TransferListItem } from 'node:worker_threads';

interface Request {
  id: number;
  method: string;
  args: unknown[];
}
type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

export class WorkerRpc {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private closed = false;

  constructor(script: URL, readonly name: string, workerData?: unknown) {
    this.worker = new Worker(script, { workerData, name });
    this.worker.on('message', (reply: Reply) => {
      const call = this.pending.get(reply.id);
      if (!call) return;
      this.pending.delete(reply.id);
      if (reply.ok) call.resolve(reply.value);
      else call.reject(new Error(reply.error));
    });
    this.worker.on('error', (err) => this.fail(new Error(`${name} worker crashed: ${err.message}`)));
    this.worker.on('exit', (code) => this.fail(new Error(this.closed ? `${name} worker was closed` : `${name} worker exited (code ${code})`)));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const call of this.pending.values()) call.reject(this.failure);
    this.pending.clear();
  }

  call<T>(method: string, args: unknown[] = [], transfer: TransferListItem[] = []): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error(`${this.name} worker was closed`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, method, args } satisfies Request, transfer);
    });
  }

  /** The worker's thread id, for tests and logs. */
  get threadId(): number {
    return this.worker.threadId;
  }

  /** Stops the worker; pending calls reject. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
  }
}

export type Handlers = Record<string, (...args: any[]) => unknown>;

/** Runs in the worker: answers calls with the handlers, one call at a time. */
export function serveRpc(handlers: Handlers): void {
  if (!parentPort) throw new Error('serveRpc must run inside a worker thread');
  const port = parentPort;
  let queue = Promise.resolve();
  port.on('message', (req: Request) => {
    queue = queue.then(async () => {
      const handler = handlers[req.method];
      try {
        if (!handler) throw new Error(`unknown method '${req.method}'`);
        const value = await handler(...req.args);
        const transfer = (value as { transfer?: TransferListItem[] } | undefined)?.transfer;
        port.postMessage({ id: req.id, ok: true, value } satisfies Reply, transfer ?? []);
      } catch (err) {
        port.postMessage({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Reply);
      }
    });
  });
}
