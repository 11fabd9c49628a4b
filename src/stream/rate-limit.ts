/**
 * A token bucket per client: `burst` requests at once, refilled at `perMinute`. Used on stream
 * creation, the one request that starts processes; a client over the limit gets 429 with
 * Retry-After. A request that was refused for another reason gives its token back (`refund`). Buckets of clients that have been quiet long enough to be full are forgotten.
 */
export interface RateLimitOptions {
  perMinute: number;
  burst: number;
  now?: () => number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly now: () => number;

  constructor(private readonly options: RateLimitOptions) {
    this.now = options.now ?? Date.now;
  }

  /** 0 if the client may go ahead (and a token is taken), else the seconds until it may. */
  take(client: string): number {
    const t = this.now();
    const rate = this.options.perMinute / 60_000;
    const b = this.buckets.get(client) ?? { tokens: this.options.burst, at: t };
    b.tokens = Math.min(this.options.burst, b.tokens + (t - b.at) * rate);
    b.at = t;
    this.buckets.set(client, b);
    if (this.buckets.size > 10_000) this.forgetFull(t, rate);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / rate / 1000);
  }

  /** Gives back a token taken for a request that was then refused (never above the burst). */
  refund(client: string): void {
    const b = this.buckets.get(client);
    if (b) b.tokens = Math.min(this.options.burst, b.tokens + 1);
  }

  private forgetFull(t: number, rate: number): void {
    for (const [client, b] of this.buckets) if (b.tokens + (t - b.at) * rate >= this.options.burst) this.buckets.delete(client);
  }
}
