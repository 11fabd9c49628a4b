/**
 * Webhooks: each configured URL gets the events it asked for (alerts by default; captions,
 * summaries, statuses) as signed JSON POSTs (webhook-signature.ts), at least once, from the
 * durable outbox (webhook-outbox.ts).
 *
 * One loop per hook sends its deliveries one at a time, oldest first, so a receiver sees them in
 * order. When the receiver is away (no connection, a timeout, 5xx, 408, 429) the hook waits
 * before trying again, exponentially longer (first retry ~1 s, then up to every 5 min, with
 * jitter so restarted servers do not all call at once; a 429's Retry-After is honoured), so a
 * receiver that is down for an hour gets one probe every few minutes, not a flood, and then
 * everything that waited, in order. A delivery the receiver refuses (another 4xx, or a redirect,
 * which is not followed) is retried on its own a few times and then given up, so one bad
 * delivery cannot hold up the rest; 410 Gone gives it up at once. A delivery not made within a
 * day is given up. Given-up deliveries are dead letters: counted in /metrics and kept a week.
 *
 * Only the URLs in the config file are called, and they are shown in logs and errors as their
 * origin alone (chat services put the secret in the path).
 */
import { randomUUID } from 'node:crypto';
import type { SequencedMessage, StatusMessage, StreamMessage } from '../core/events.js';
import type { HistoryStore } from '../store/history-store.js';
import { log } from '../util/log.js';
import { signature, signingKey } from './webhook-signature.js';
import { type OutboxRow, targetOf, WebhookOutbox } from './webhook-outbox.js';

export type WebhookEventType = StreamMessage['type'];
export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = ['alert', 'caption', 'summary', 'status'];

/** One configured webhook, its settings checked (config/serve-settings.ts). */
export interface WebhookSpec {
  /** Names it in metrics and logs. */
  id: string;
  url: string;
  secret: string;
  events: readonly WebhookEventType[];
  /** Only these streams' events; every stream when absent. */
  streams?: readonly string[];
  /** Further request headers (an Authorization the receiver wants, say). */
  headers?: Readonly<Record<string, string>>;
  /** How long one request may take (default 10 s). */
  timeoutMs?: number;
}

export interface WebhookTiming {
  /** The first wait after a failure; it doubles per failure up to `maxRetryMs`. */
  firstRetryMs: number;
  maxRetryMs: number;
  /** A delivery not made within this long is given up. */
  giveUpMs: number;
  /** Times a receiver may refuse one delivery (4xx) before it is given up. */
  maxRefusals: number;
  /** Deliveries kept waiting per hook at most (checked every 100 queued); beyond it the oldest are given up. */
  maxPending: number;
}

export const WEBHOOK_TIMING: WebhookTiming = { firstRetryMs: 1000, maxRetryMs: 300_000, giveUpMs: 86_400_000, maxRefusals: 8, maxPending: 1_000_000 };

export interface WebhookStats {
  delivered: number;
  /** Failed attempts that will be tried again. */
  retries: number;
  /** Deliveries given up. */
  deadLetters: number;
  /** Waiting in the outbox now. */
  pending: number;
}

export interface WebhookInfo extends WebhookStats {
  id: string;
  /** The URL's origin only: the rest may hold a secret. */
  url: string;
  events: WebhookEventType[];
  streams?: string[];
  /** Why the oldest waiting delivery failed last, while one waits. */
  lastError?: string;
  recentDeadLetters: { key: string; created: number; attempts: number; error: string }[];
}

/** The URL as logs and errors show it: its origin only. */
const shownUrl = (url: string) => new URL(url).origin;

/** Wait before retry `n` (1, 2…): doubling from `first` up to `max`, the second half of it random. */
export function backoff(n: number, timing: Pick<WebhookTiming, 'firstRetryMs' | 'maxRetryMs'>, random = Math.random): number {
  const ceiling = Math.min(timing.maxRetryMs, timing.firstRetryMs * 2 ** Math.max(0, n - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

class Hook {
  readonly stats: Omit<WebhookStats, 'pending'> = { delivered: 0, retries: 0, deadLetters: 0 };
  private readonly key: Buffer;
  private readonly target: string;
  private readonly shown: string;
  /** Failures in a row of the receiver as a whole (not of one delivery). */
  private failures = 0;
  private pausedUntil = 0;
  private wakeUp: (() => void) | undefined;
  private closed = false;
  private inFlight: AbortController | undefined;
  /** Deliveries queued since the outbox's size was last checked (counting is not free on a big outbox). */
  private sinceCapped = 0;
  readonly done: Promise<void>;

  constructor(
    readonly spec: WebhookSpec,
    private readonly outbox: WebhookOutbox,
    private readonly timing: WebhookTiming,
    private readonly delivered: (hook: string, seconds: number) => void,
  ) {
    this.key = signingKey(spec.secret);
    this.target = targetOf(spec.url);
    this.shown = shownUrl(spec.url);
    this.done = this.run().catch((err: Error) => {
      if (!this.closed) log.error('webhook: its delivery loop stopped', { webhook: spec.id, error: err.message });
    });
  }

  wants(m: StreamMessage): boolean {
    return this.spec.events.includes(m.type) && (!this.spec.streams || this.spec.streams.includes(m.stream));
  }

  /** Queues a delivery (in the caller's transaction, when there is one). */
  queue(key: string, m: StreamMessage, now: number): void {
    const body = JSON.stringify({ type: m.type, timestamp: new Date(now).toISOString(), data: m });
    if (this.outbox.add(this.spec.id, this.target, key, body, now) && ++this.sinceCapped >= 100) {
      this.sinceCapped = 0;
      const dropped = this.outbox.cap(this.spec.id, this.timing.maxPending);
      if (dropped) {
        this.stats.deadLetters += dropped;
        log.warn('webhook: the outbox is full; the oldest deliveries were given up', { webhook: this.spec.id, dropped, max: this.timing.maxPending });
      }
    }
  }

  wake(): void {
    this.wakeUp?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.inFlight?.abort();
    this.wake();
    await this.done;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.min(ms, 2 ** 31 - 1));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      const now = Date.now();
      if (this.pausedUntil > now) {
        await this.sleep(this.pausedUntil - now);
        continue;
      }
      const row = this.outbox.due(this.spec.id, now);
      if (!row) {
        const next = this.outbox.nextDue(this.spec.id);
        await this.sleep(next === undefined ? 60_000 : Math.max(0, next - now));
        continue;
      }
      await this.deliver(row);
    }
  }

  private async deliver(row: OutboxRow): Promise<void> {
    const now = Date.now();
    if (row.target !== this.target) return this.giveUp(row, now, "the webhook's URL in the config file changed since it was queued; it is not sent to another URL");
    if (now - row.created > this.timing.giveUpMs) return this.giveUp(row, now, `not delivered within ${Math.round(this.timing.giveUpMs / 3_600_000)} h (${row.attempts} attempts)`);
    const timestamp = Math.floor(now / 1000);
    const controller = new AbortController();
    this.inFlight = controller;
    const timeout = setTimeout(() => controller.abort(new Error(`no answer within ${(this.spec.timeoutMs ?? 10_000) / 1000} s`)), this.spec.timeoutMs ?? 10_000);
    let status: number | undefined;
    let retryAfterS: number | undefined;
    let failure: string | undefined;
    try {
      const res = await fetch(this.spec.url, {
        method: 'POST',
        redirect: 'manual',
        signal: controller.signal,
        headers: {
          ...this.spec.headers,
          'content-type': 'application/json',
          'user-agent': 'livecap-webhook',
          'webhook-id': row.key,
          'idempotency-key': row.key,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signature(this.key, row.key, timestamp, row.body),
        },
        body: row.body,
      });
      status = res.status;
      retryAfterS = Number(res.headers.get('retry-after')) || undefined;
      // The answer's body is not read: a receiver cannot make livecap hold on to it.
      await res.body?.cancel().catch(() => undefined);
    } catch (err) {
      failure =
        controller.signal.aborted && this.closed
          ? 'livecap stopped'
          : ((controller.signal.reason as Error | undefined)?.message ?? ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message);
    } finally {
      clearTimeout(timeout);
      this.inFlight = undefined;
    }
    if (this.closed && status === undefined) return; // Stopped mid-request: it stays queued, sent again after a restart.
    if (status !== undefined && status >= 200 && status < 300) {
      this.outbox.delivered(row.id);
      this.stats.delivered++;
      this.delivered(this.spec.id, (Date.now() - row.created) / 1000);
      if (this.failures) log.info('webhook: delivering again', { webhook: this.spec.id, url: this.shown });
      this.failures = 0;
      return;
    }
    if (status === 410) return this.giveUp(row, now, `${this.shown} answered 410 Gone`);
    const why = status === undefined ? `${this.shown}: ${failure}` : `${this.shown} answered ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}`;
    const receiverAway = status === undefined || status >= 500 || status === 408 || status === 429;
    this.stats.retries++;
    if (receiverAway) {
      this.failures++;
      const wait = Math.min(this.timing.maxRetryMs, Math.max(backoff(this.failures, this.timing), (retryAfterS ?? 0) * 1000));
      this.pausedUntil = now + wait;
      this.outbox.retry(row.id, this.pausedUntil, why);
      if (this.failures === 1 || this.failures % 10 === 0)
        log.warn('webhook: receiver not taking deliveries; retrying with backoff', { webhook: this.spec.id, error: why, failures: this.failures, retryInMs: wait });
      return;
    }
    if (row.attempts + 1 >= this.timing.maxRefusals) return this.giveUp(row, now, `refused ${row.attempts + 1} times; last: ${why}`);
    this.outbox.retry(row.id, now + backoff(row.attempts + 1, this.timing), why);
    log.warn('webhook: a delivery was refused; it is retried on its own', { webhook: this.spec.id, key: row.key, error: why });
  }

  private giveUp(row: OutboxRow, now: number, why: string): void {
    this.outbox.bury(row.id, now, why);
    this.stats.deadLetters++;
    log.error('webhook: delivery given up (a dead letter)', { webhook: this.spec.id, key: row.key, reason: why });
  }
}

export class Webhooks {
  private readonly outbox: WebhookOutbox;
  private readonly hooks: Hook[];
  private readonly detach: () => void;
  private readonly sweeper: NodeJS.Timeout;
  private statusCount = 0;
  private readonly deliveryListeners = new Set<(hook: string, seconds: number) => void>();

  constructor(store: HistoryStore, specs: readonly WebhookSpec[], timing: Partial<WebhookTiming> = {}) {
    if (store.inMemory) log.warn('webhooks: the history is in memory, so deliveries waiting when livecap stops are lost; give --history a file');
    this.outbox = new WebhookOutbox(store.connection);
    const t = { ...WEBHOOK_TIMING, ...timing };
    const delivered = (hook: string, seconds: number) => {
      for (const listener of this.deliveryListeners) listener(hook, seconds);
    };
    this.hooks = specs.map((spec) => new Hook(spec, this.outbox, t, delivered));
    // Captions, summaries and alerts: queued in the transaction that keeps the event.
    this.detach = store.duringAppend((m) => this.queueEvent(m));
    const sweep = () => {
      try {
        this.outbox.sweep(
          this.hooks.map((h) => h.spec.id),
          Date.now(),
        );
      } catch (err) {
        log.warn('webhooks: cannot remove old dead letters now', { error: (err as Error).message });
      }
    };
    sweep();
    this.sweeper = setInterval(sweep, 3_600_000);
    this.sweeper.unref();
    for (const hook of this.hooks) log.info('webhook: delivering', { webhook: hook.spec.id, url: shownUrl(hook.spec.url), events: hook.spec.events, waiting: this.outbox.pending(hook.spec.id) });
  }

  private queueEvent(m: SequencedMessage): void {
    const now = Date.now();
    for (const hook of this.hooks) {
      if (!hook.wants(m)) continue;
      hook.queue(`${m.stream}:${m.seq}`, m, now);
      // After the transaction commits (the loop finds the row then).
      setImmediate(() => hook.wake());
    }
  }

  /** A status (not in history): queued on its own. Errors are logged; the stream carries on. */
  status(m: StatusMessage): void {
    const now = Date.now();
    for (const hook of this.hooks) {
      if (!hook.wants(m)) continue;
      try {
        hook.queue(`${m.stream}:status:${now}:${++this.statusCount}:${randomUUID().slice(0, 8)}`, m, now);
        hook.wake();
      } catch (err) {
        log.error('webhook: cannot queue a status delivery', { webhook: hook.spec.id, stream: m.stream, error: (err as Error).message });
      }
    }
  }

  /** Hears of each delivery made: its hook, and the seconds from its event to its delivery. */
  onDelivered(listener: (hook: string, seconds: number) => void): () => void {
    this.deliveryListeners.add(listener);
    return () => this.deliveryListeners.delete(listener);
  }

  /** Per hook: what it delivered, retried and gave up, and what waits. */
  stats(): Map<string, WebhookStats> {
    const out = new Map<string, WebhookStats>();
    for (const hook of this.hooks) {
      let pending = 0;
      try {
        pending = this.outbox.pending(hook.spec.id);
      } catch {
        // The store is closing.
      }
      out.set(hook.spec.id, { ...hook.stats, pending });
    }
    return out;
  }

  /** Each hook as operators see it (GET /api/webhooks): its URL's origin only, its counts, why it waits, its newest dead letters. */
  describe(): WebhookInfo[] {
    const stats = this.stats();
    return this.hooks.map((hook) => {
      const id = hook.spec.id;
      const lastError = this.outbox.lastError(id);
      return {
        id,
        url: shownUrl(hook.spec.url),
        events: [...hook.spec.events],
        ...(hook.spec.streams && { streams: [...hook.spec.streams] }),
        ...stats.get(id)!,
        ...(lastError !== undefined && { lastError }),
        recentDeadLetters: this.outbox.deadList(id, 20),
      };
    });
  }

  /** Stops delivering; what is waiting stays in the outbox for the next start. Safe to call twice. */
  async close(): Promise<void> {
    this.detach();
    clearInterval(this.sweeper);
    await Promise.all(this.hooks.map((h) => h.close()));
  }
}
