/**
 * The webhook outbox: every delivery waiting to be made, in a table of the history file, so it
 * survives a restart and a receiver that is down for hours.
 *
 * A caption's, summary's or alert's deliveries are written in the same transaction as the event
 * itself (HistoryStore.duringAppend): an event in history has its deliveries queued, and no
 * delivery exists for an event that was not kept. Statuses are not in history; theirs are
 * queued on their own.
 *
 *   outbox  id, hook, target (a digest of the hook's URL), key (the idempotency key), body,
 *           created, attempts, next_at (not before), last_error, dead (given up on)
 *
 * A row belongs to a hook's id and URL: if the config file later gives that id another URL, the
 * row is not sent there (only URLs configured for it are ever called) but given up on, with a
 * reason. Given-up rows (dead letters) are kept a week for people to look at, at most
 * `MAX_DEAD` per hook.
 */
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';

export interface OutboxRow {
  id: number;
  hook: string;
  target: string;
  key: string;
  body: string;
  created: number;
  attempts: number;
}

/** The digest of a hook's URL that its rows carry (the URL itself may hold a secret). */
export const targetOf = (url: string) => createHash('sha256').update(url).digest('hex').slice(0, 32);

const MAX_DEAD = 10_000;
const DEAD_KEPT_MS = 7 * 86_400_000;

export class WebhookOutbox {
  private readonly sql: Record<'insert' | 'due' | 'nextDue' | 'done' | 'retry' | 'bury' | 'pending' | 'dead' | 'dropOldest' | 'trimDead' | 'sweepDead' | 'lastError' | 'deadList', Database.Statement>;

  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY,
        hook TEXT NOT NULL,
        target TEXT NOT NULL,
        key TEXT NOT NULL,
        body TEXT NOT NULL,
        created INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at INTEGER NOT NULL,
        last_error TEXT,
        dead INTEGER NOT NULL DEFAULT 0,
        UNIQUE (hook, key)
      );
      CREATE INDEX IF NOT EXISTS outbox_due ON outbox (hook, dead, next_at, id);
    `);
    this.sql = {
      // A key already queued for the hook is the same delivery: queued once.
      insert: db.prepare('INSERT INTO outbox (hook, target, key, body, created, next_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hook, key) DO NOTHING'),
      due: db.prepare('SELECT id, hook, target, key, body, created, attempts FROM outbox WHERE hook = ? AND dead = 0 AND next_at <= ? ORDER BY id LIMIT 1'),
      nextDue: db.prepare('SELECT min(next_at) AS at FROM outbox WHERE hook = ? AND dead = 0'),
      done: db.prepare('DELETE FROM outbox WHERE id = ?'),
      retry: db.prepare('UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?'),
      bury: db.prepare('UPDATE outbox SET attempts = attempts + 1, dead = 1, next_at = ?, last_error = ? WHERE id = ?'),
      pending: db.prepare('SELECT count(*) AS n FROM outbox WHERE hook = ? AND dead = 0'),
      dead: db.prepare('SELECT count(*) AS n FROM outbox WHERE hook = ? AND dead = 1'),
      dropOldest: db.prepare(
        "UPDATE outbox SET dead = 1, last_error = 'the outbox was full: the oldest deliveries were given up' WHERE id IN (SELECT id FROM outbox WHERE hook = ? AND dead = 0 ORDER BY id LIMIT ?)",
      ),
      trimDead: db.prepare('DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE hook = ? AND dead = 1 ORDER BY id DESC LIMIT -1 OFFSET ?)'),
      sweepDead: db.prepare('DELETE FROM outbox WHERE dead = 1 AND next_at < ?'),
      lastError: db.prepare('SELECT last_error AS error FROM outbox WHERE hook = ? AND dead = 0 AND last_error IS NOT NULL ORDER BY id LIMIT 1'),
      deadList: db.prepare('SELECT key, created, attempts, last_error AS error FROM outbox WHERE hook = ? AND dead = 1 ORDER BY id DESC LIMIT ?'),
    };
  }

  /** Queues a delivery (within the caller's transaction, if it has one); false if its key was queued already. */
  add(hook: string, target: string, key: string, body: string, now: number): boolean {
    return this.sql.insert.run(hook, target, key, body, now, now).changes > 0;
  }

  /** The oldest delivery of a hook that is due now. */
  due(hook: string, now: number): OutboxRow | undefined {
    return this.sql.due.get(hook, now) as OutboxRow | undefined;
  }

  /** When the hook's next delivery falls due (ms since the epoch), if it has any waiting. */
  nextDue(hook: string): number | undefined {
    return (this.sql.nextDue.get(hook) as { at: number | null }).at ?? undefined;
  }

  delivered(id: number): void {
    this.sql.done.run(id);
  }

  /** Tries again at `at`. */
  retry(id: number, at: number, error: string): void {
    this.sql.retry.run(at, error, id);
  }

  /** Gives up on a delivery: kept a week as a dead letter. */
  bury(id: number, now: number, error: string): void {
    this.sql.bury.run(now, error, id);
  }

  pending(hook: string): number {
    return (this.sql.pending.get(hook) as { n: number }).n;
  }

  deadLetters(hook: string): number {
    return (this.sql.dead.get(hook) as { n: number }).n;
  }

  /** Why the oldest waiting delivery of a hook failed last, if it has failed. */
  lastError(hook: string): string | undefined {
    return (this.sql.lastError.get(hook) as { error: string } | undefined)?.error;
  }

  /** The newest dead letters of a hook. */
  deadList(hook: string, limit: number): { key: string; created: number; attempts: number; error: string }[] {
    return this.sql.deadList.all(hook, limit) as { key: string; created: number; attempts: number; error: string }[];
  }

  /** Keeps at most `max` deliveries waiting for a hook: the oldest beyond it are given up. Returns how many. */
  cap(hook: string, max: number): number {
    const over = this.pending(hook) - max;
    return over > 0 ? this.sql.dropOldest.run(hook, over).changes : 0;
  }

  /** Removes dead letters older than a week, and beyond the newest MAX_DEAD of a hook. */
  sweep(hooks: readonly string[], now: number): void {
    this.sql.sweepDead.run(now - DEAD_KEPT_MS);
    for (const hook of hooks) this.sql.trimDead.run(hook, MAX_DEAD);
  }

  /** Runs `work` in one transaction. */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }
}
