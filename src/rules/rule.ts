/**
 * What a rule is, as a user writes it (in the config file's `rules`, or over /api/rules), and
 * what the server says about one. The request's form is checked by its schema
 * (stream/api-schemas.ts, `RuleRequest`); what the values mean together (a regular expression
 * that compiles and cannot run away, hours that are times, a time zone that exists) by
 * `compileRule` (rule-book.ts).
 *
 *   { "id": "person-at-door", "streams": ["door"], "match": ["person", "man", "woman"],
 *     "not": ["poster"], "cooldown": 120, "activeHours": { "from": "22:00", "to": "06:00" } }
 */

/** What a rule reads: frame captions, video captions (summaries), or both. */
export type RuleTarget = 'caption' | 'summary';

export interface RuleSpec {
  /** 1-64 letters, digits, '-' or '_': names the rule in alerts, topics and the API. */
  id: string;
  /** A name for people (Home Assistant shows it); the id when absent. */
  name?: string;
  /** The streams it watches; every stream when absent. */
  streams?: string[];
  /**
   * Words or phrases, stemmed as search stems them ("red car" matches "two red cars"): a
   * phrase matches its words in that order, next to each other.
   */
  match?: string | string[];
  /** `any` (default): one of the phrases is enough; `all`: every one must be there. */
  mode?: 'any' | 'all';
  /** Words or phrases that stop it: a text holding any of them never matches. */
  not?: string | string[];
  /** A regular expression (JavaScript syntax, case-insensitive) the text must also match. */
  regex?: string;
  /** What it reads: captions (default), summaries, or both. */
  on?: RuleTarget[];
  /** Seconds after an alert before the rule may raise another for the same stream (default 60). */
  cooldown?: number;
  /** Only between these times of day (the end may be past midnight), in a time zone (default: the server's). */
  activeHours?: { from: string; to: string; timezone?: string };
  /** False: kept, but raises nothing (default true). */
  enabled?: boolean;
}

/** A rule as the API shows it: as written, where it comes from, and what it does now. */
export interface RuleInfo extends RuleSpec {
  /** `config`: from the config file (changed there, not over the API); `api`: saved in the store. */
  source: 'config' | 'api';
  /** The streams where it matches now (the latest text it read there matched). */
  firing: string[];
  /** Its last alert, if it raised one since the server started. */
  lastAlert?: { stream: string; seq: number; ts: number };
}

export const RULE_DEFAULTS = { cooldownS: 60, on: ['caption'] as RuleTarget[], mode: 'any' as const };

/** The longest regular expression a rule may have, in characters. */
export const MAX_RULE_REGEX = 200;
