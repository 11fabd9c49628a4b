/** How a history store keeps events: where, how long, how many, how safely (no SQLite loaded here). */

export interface HistoryStoreOptions {
  /** A file path, or ':memory:' for a history that lasts as long as the process. */
  path: string;
  /** Events older than this are removed (default 30 days). */
  maxAgeMs?: number;
  /** At most this many events are kept, the oldest removed first (default 1,000,000). */
  maxEvents?: number;
  /** 'normal' survives a crash of the process; 'full' also survives losing power (slower). */
  durability?: 'normal' | 'full';
  /** The most bytes the database may hold (default 0: no cap); past it, writes fail as on a full disk. */
  maxBytes?: number;
  now?: () => number;
}

export const HISTORY_DEFAULTS = { maxAgeMs: 30 * 24 * 3600 * 1000, maxEvents: 1_000_000, durability: 'normal', maxBytes: 0 } as const;
