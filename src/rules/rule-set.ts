/**
 * The rules of a server, where they come from and where they are kept: those of the config file
 * (read-only here: the file says what runs), and those added over /api/rules, saved in the
 * history store so they come back after a restart. Every change goes through here; evaluation
 * is the RuleBook's.
 */
import { log } from '../util/log.js';
import type { HistoryStore } from '../store/history-store.js';
import { RuleBook, RuleInputError } from './rule-book.js';
import type { RuleInfo, RuleSpec } from './rule.js';

export { RuleInputError } from './rule-book.js';

/** The id is taken, or the rule belongs to the config file. */
export class RuleConflictError extends Error {
  override name = 'RuleConflictError';
}
/** The store could not save or forget the rule; nothing was changed. */
export class RuleStoreError extends Error {
  override name = 'RuleStoreError';
}

/** The most rules a server runs (the config file's and the API's together). */
export const MAX_RULES = 10_000;

export class RuleSet {
  readonly book: RuleBook;

  /** `fixed`: why rules cannot be changed over the API here (a cluster node), if they cannot. */
  constructor(
    private readonly store: HistoryStore,
    private readonly fixed?: string,
    book?: RuleBook,
  ) {
    this.book = book ?? new RuleBook();
  }

  /** The config file's rules, then those saved over the API (a saved one whose id the file took is logged and skipped). */
  load(configured: readonly RuleSpec[]): void {
    for (const rule of configured) this.book.set(rule, 'config');
    if (this.fixed) return;
    // Saved only after the same checks as now (save, below).
    for (const saved of this.store.savedRules() as unknown as RuleSpec[]) {
      if (this.book.get(saved.id)) {
        log.warn('saved rule not loaded: the config file has a rule with its id', { rule: saved.id });
        continue;
      }
      try {
        this.book.set(saved, 'api');
      } catch (err) {
        log.error('saved rule cannot run', { rule: saved.id, error: (err as Error).message });
      }
    }
    if (this.book.size) log.info('rules loaded', { rules: this.book.size });
  }

  list(): RuleInfo[] {
    return this.book.list();
  }

  get(id: string): RuleInfo | undefined {
    return this.book.get(id);
  }

  /** Adds and saves a rule; throws RuleInputError, RuleConflictError or RuleStoreError. */
  create(spec: RuleSpec): RuleInfo {
    if (this.fixed) throw new RuleConflictError(this.fixed);
    if (this.book.get(spec.id)) throw new RuleConflictError(`rule '${spec.id}' already exists`);
    if (this.book.size >= MAX_RULES) throw new RuleConflictError(`the server already runs its maximum of ${MAX_RULES} rules; remove one first`);
    return this.save(spec);
  }

  /** Replaces a rule added over the API (or adds it): false for `created` when it existed. */
  replace(id: string, spec: RuleSpec): { info: RuleInfo; created: boolean } {
    if (this.fixed) throw new RuleConflictError(this.fixed);
    if (spec.id !== id) throw new RuleInputError(`rule id in the body ('${spec.id}') differs from the one in the path ('${id}')`);
    const old = this.book.get(id);
    if (old?.source === 'config') throw new RuleConflictError(`rule '${id}' comes from the config file; change it there`);
    if (!old && this.book.size >= MAX_RULES) throw new RuleConflictError(`the server already runs its maximum of ${MAX_RULES} rules; remove one first`);
    return { info: this.save(spec), created: !old };
  }

  /** Removes a rule added over the API for good; false if there was none. */
  remove(id: string): boolean {
    const old = this.book.get(id);
    if (!old) return false;
    if (old.source === 'config') throw new RuleConflictError(`rule '${id}' comes from the config file; remove it there`);
    if (this.fixed) throw new RuleConflictError(this.fixed);
    try {
      this.store.forgetRule(id);
    } catch (err) {
      throw new RuleStoreError(`rule '${id}' was not removed: the history store cannot forget it (${(err as Error).message})`);
    }
    this.book.delete(id);
    log.info('rule removed', { rule: id });
    return true;
  }

  private save(spec: RuleSpec): RuleInfo {
    // Checked before it is saved, so the store never holds a rule that cannot run.
    const previous = this.book.get(spec.id);
    const info = this.book.set(spec, 'api');
    try {
      this.store.saveRule({ ...spec });
    } catch (err) {
      if (previous) this.book.set(strip(previous), previous.source);
      else this.book.delete(spec.id);
      throw new RuleStoreError(`rule '${spec.id}' was not saved: the history store cannot write it (${(err as Error).message})`);
    }
    log.info('rule saved', { rule: spec.id });
    return info;
  }
}

/** A rule as written, without what the server adds to it. */
function strip({ source: _source, firing: _firing, lastAlert: _last, ...spec }: RuleInfo): RuleSpec {
  return spec;
}
