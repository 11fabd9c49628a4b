/**
 * Request/response calls into a worker thread, so model inference never runs on the event loop.
 *
 * Main side: `WorkerRpc` starts the worker and sends it one call at a time (`{id, method,
 * args}`), settling each call's promise from the matching reply. Every call has a deadline:
 * a call that misses it rejects with a `ModelTimeoutError`, the worker (stuck in a model, say)
 * is terminated and a fresh one started with the same workerData; the `setup` call (loading
 * the model) is sent to it first, and the calls that were waiting carry on with it. So one
 * stuck inference costs one deadline, not every later caption of every stream sharing the
 * model. If the worker dies on its own, every pending and later call rejects with an error
 * that names the worker and the cause. `close()` is idempotent.
 * Worker side: `serveRpc(handlers)` answers calls one at a time, in order, so a model (one
 * native session) never sees two calls at once. An error thrown there crosses back with its
 * `name`, message and `code`, so a caller can tell a bad input from a crash.
 *
 * Deadlines and restarts are counted per worker name (`modelWorkerStats`) for /metrics.
 *
 * Typed end to end: a worker module exports the type of the handlers it serves, and the main
 * side names it (`new WorkerRpc<typeof handlers>(…)`, a type-only import), so a method's name,
 * its arguments and its answer are checked on both sides of the thread.
 */
import { Worker, parentPort, type TransferListItem } from 'node:worker_threads';
import { log } from './log.js';

interface Request {
  id: number;
  method: string;
  args: unknown[];
}
interface RemoteError {
  name: string;
  message: string;
  code?: string | number;
}
type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: RemoteError };

/** A model call that got no answer within its deadline; the worker that held it was replaced. */
export class ModelTimeoutError extends Error {
  override name = 'ModelTimeoutError';
  constructor(
    /** The worker's name, e.g. `captioner models/captioner-synth`. */
    readonly model: string,
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`${model} did not answer '${method}' within ${seconds(timeoutMs)}; its worker was restarted`);
  }
}

/** A model worker that is gone for good: it crashed, exited, or its replacement could not load the model. */
export class ModelWorkerError extends Error {
  override name = 'ModelWorkerError';
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** An error as thrown in the worker: its class name, message and code, rebuilt on this side. */
function fromRemote(e: RemoteError): Error {
  const err = new Error(e.message);
  err.name = e.name;
  if (e.code !== undefined) Object.assign(err, { code: e.code });
  return err;
}

export interface WorkerRpcOptions<Api extends Handlers = Handlers> {
  /** Deadline of a call, in ms, unless the call sets its own (default 30 s). */
  timeoutMs?: number;
  /** Sent first to a worker started in place of one that missed a deadline (loading the model again). */
  setup?: { [M in keyof Api & string]: { method: M; args?: Parameters<Api[M]>; timeoutMs?: number } }[keyof Api & string];
}

export const RPC_DEFAULTS = { timeoutMs: 30_000 } as const;

/** Deadlines of a model client's calls, in ms. */
export interface ModelDeadlines {
  /** One caption or summary (default 30 s); a worker that misses it is replaced. */
  timeoutMs?: number;
  /** Loading the model, at start and in a replacement worker (default 5 min). */
  loadTimeoutMs?: number;
}

export const LOAD_TIMEOUT_MS = 300_000;

/** Times model workers missed a deadline and were replaced, per worker name, since the process started. */
export interface ModelWorkerStats {
  timeouts: number;
  restarts: number;
}
const stats = new Map<string, ModelWorkerStats>();

/** A snapshot of every model worker's deadline misses and restarts, for /metrics. */
export function modelWorkerStats(): ReadonlyMap<string, ModelWorkerStats> {
  return new Map([...stats].map(([name, s]) => [name, { ...s }]));
}

interface Call {
  id: number;
  method: string;
  args: unknown[];
  transfer: TransferListItem[];
  timeoutMs: number;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  /** The call that loads a replacement worker: if it fails, there is no working worker left. */
  setup?: boolean;
  timer?: NodeJS.Timeout;
}

/** What a worker serves: methods by name. */
// biome-ignore lint/suspicious/noExplicitAny: the handlers' own parameter types are checked through `Api`
export type Handlers = Record<string, (...args: any[]) => unknown>;

/** A method's answer as it arrives on the main side. */
export type Answer<H extends Handlers, M extends keyof H> = Awaited<ReturnType<H[M]>>;

export class WorkerRpc<Api extends Handlers = Handlers> {
  private worker: Worker;
  private nextId = 1;
  /** Calls not yet sent; one call at a time is with the worker. */
  private readonly queue: Call[] = [];
  private current: Call | undefined;
  private failure: Error | undefined;
  private closed = false;
  private stopping: Promise<void> | undefined;
  private readonly options: { timeoutMs: number; setup?: WorkerRpcOptions<Api>['setup'] };
  private readonly stats: ModelWorkerStats;

  constructor(
    private readonly script: URL,
    readonly name: string,
    private readonly workerData?: unknown,
    options: WorkerRpcOptions<Api> = {},
  ) {
    this.options = { ...RPC_DEFAULTS, ...options };
    let s = stats.get(name);
    if (!s) stats.set(name, (s = { timeouts: 0, restarts: 0 }));
    this.stats = s;
    this.worker = this.spawn();
  }

  private spawn(): Worker {
    const worker = new Worker(this.script, { workerData: this.workerData, name: this.name });
    // Events of a worker that was replaced or closed are not this one's business any more.
    const mine = () => worker === this.worker && !this.closed;
    worker.on('message', (reply: Reply) => {
      const call = this.current;
      if (!mine() || !call || call.id !== reply.id) return;
      this.settle(call);
      if (reply.ok) call.resolve(reply.value);
      else if (call.setup) this.fail(new ModelWorkerError(`${this.name}: the worker started after a missed deadline could not load its model: ${reply.error.message}`));
      else call.reject(fromRemote(reply.error));
      this.pump();
    });
    worker.on('error', (err) => {
      if (mine()) this.fail(new ModelWorkerError(`${this.name} worker crashed: ${err.message}`));
    });
    worker.on('exit', (code) => {
      if (mine()) this.fail(new ModelWorkerError(`${this.name} worker exited (code ${code})`));
    });
    return worker;
  }

  private settle(call: Call): void {
    clearTimeout(call.timer);
    if (this.current === call) this.current = undefined;
  }

  /** Sends the next waiting call, if the worker is free. */
  private pump(): void {
    if (this.current || this.failure || this.closed) return;
    const call = this.queue.shift();
    if (!call) return;
    this.current = call;
    call.timer = setTimeout(() => this.missed(call), call.timeoutMs);
    this.worker.postMessage({ id: call.id, method: call.method, args: call.args } satisfies Request, call.transfer);
  }

  private missed(call: Call): void {
    if (this.current !== call) return;
    this.settle(call);
    this.stats.timeouts++;
    const error = new ModelTimeoutError(this.name, call.method, call.timeoutMs);
    if (call.setup) {
      this.fail(new ModelWorkerError(`${this.name}: the worker started after a missed deadline did not load its model within ${seconds(call.timeoutMs)}`));
      return;
    }
    if (this.stopping !== undefined) {
      // Closing: no point loading the model again just to dispose of it.
      this.fail(error);
      return;
    }
    call.reject(error);
    // Not awaited: a thread stuck in native code ends only when that code returns, and the
    // calls waiting here should not wait for it.
    const stuck = this.worker;
    this.worker = this.spawn();
    stuck.terminate().catch(() => {});
    this.stats.restarts++;
    log.warn('model worker restarted after a missed deadline', { model: this.name, method: call.method, timeoutMs: call.timeoutMs, waiting: this.queue.length });
    const setup = this.options.setup;
    if (setup)
      this.queue.unshift(
        this.newCall(
          setup.method,
          setup.args ?? [],
          [],
          setup.timeoutMs ?? call.timeoutMs,
          () => {},
          () => {},
          true,
        ),
      );
    this.pump();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    // A worker that failed for good (or hangs) is of no further use.
    if (!this.closed) this.worker.terminate().catch(() => {});
    const calls = [...(this.current ? [this.current] : []), ...this.queue.splice(0)];
    for (const call of calls) {
      this.settle(call);
      call.reject(this.failure);
    }
  }

  private newCall(method: string, args: unknown[], transfer: TransferListItem[], timeoutMs: number, resolve: (v: unknown) => void, reject: (e: Error) => void, setup = false): Call {
    return { id: this.nextId++, method, args, transfer, timeoutMs, resolve, reject, setup };
  }

  /** Calls `method` in the worker; rejects with `ModelTimeoutError` after `timeoutMs` (default: the client's). */
  call<M extends keyof Api & string>(method: M, args: Parameters<Api[M]>, transfer: TransferListItem[] = [], options: { timeoutMs?: number } = {}): Promise<Answer<Api, M>> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error(`${this.name} worker was closed`));
    return new Promise<Answer<Api, M>>((resolve, reject) => {
      this.queue.push(this.newCall(method, args, transfer, options.timeoutMs ?? this.options.timeoutMs, resolve as (v: unknown) => void, reject));
      this.pump();
    });
  }

  /** The worker's thread id, for tests and logs (a new one after a restart). */
  get threadId(): number {
    return this.worker.threadId;
  }

  /**
   * Stops the worker: first `finalCall` (releasing the model), if given, after the calls
   * already made, within `finalTimeoutMs`; then pending calls reject. Safe to call twice.
   */
  close(finalCall?: keyof Api & string, finalTimeoutMs = 10_000): Promise<void> {
    this.stopping ??= (async () => {
      if (finalCall && !this.failure && !this.closed) {
        // Bounded from now, calls still waiting before it included.
        let timer: NodeJS.Timeout | undefined;
        const giveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, finalTimeoutMs)));
        await Promise.race([this.call(finalCall, [] as unknown as Parameters<Api[typeof finalCall]>, [], { timeoutMs: finalTimeoutMs }).catch(() => {}), giveUp]);
        clearTimeout(timer);
      }
      await this.terminate();
    })();
    return this.stopping;
  }

  private async terminate(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const calls = [...(this.current ? [this.current] : []), ...this.queue.splice(0)];
    for (const call of calls) {
      this.settle(call);
      call.reject(new Error(`${this.name} worker was closed`));
    }
    await this.worker.terminate();
  }
}

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
        const e = err instanceof Error ? err : new Error(String(err));
        const code = (e as { code?: unknown }).code;
        const error: RemoteError = { name: e.name, message: e.message, ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}) };
        port.postMessage({ id: req.id, ok: false, error } satisfies Reply);
      }
    });
  });
}
