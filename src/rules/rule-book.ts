/**
 * The rules a server runs, and what each is doing: which captions and summaries match, when a
 * rule may raise its next alert (its cooldown, per stream), and where it "fires" now (the latest
 * text it read on a stream matched: what a Home Assistant binary sensor shows).
 *
 * Evaluation runs on the event loop for every caption and summary, so it is built to be cheap
 * with many rules: a text is split into stemmed words once (terms.ts), and a rule with words is
 * only looked at when the text holds the first word of one of its phrases (an index from words
 * to rules). bench/alerts.ts measures it with 1,000 rules.
 *
 * Regular expressions are the one part whose cost a rule's author controls: one with a
 * repeated group that holds a quantifier or alternatives (`(a+)+`, `(a|aa)*`), the shapes that
 * take exponential time, is refused, and the text they run on is cut to its first 2,000 characters.
 */
import { terms } from './terms.js';
import { MAX_RULE_REGEX, RULE_DEFAULTS, type RuleInfo, type RuleSpec, type RuleTarget } from './rule.js';

/** A rule's values do not make sense together; the message names every problem. */
export class RuleInputError extends Error {
  override name = 'RuleInputError';
}

/** The text of a caption or summary, as rules read it. */
export interface RuleInput {
  type: RuleTarget;
  stream: string;
  text: string;
  /** A caption whose keyframe the captioner does not recognise: its text means nothing, no rule reads it. */
  outOfDomain?: boolean;
}

/** A rule that matched and may raise an alert now. */
export interface Fired {
  rule: string;
  name: string;
}

/** A change of where a rule fires, for whoever shows it (MQTT binary sensors). */
export interface FiringChange {
  stream: string;
  rule: string;
  on: boolean;
}

interface CompiledRule {
  spec: RuleSpec;
  source: RuleInfo['source'];
  phrases: string[][];
  not: string[][];
  regex?: RegExp;
  on: Set<RuleTarget>;
  streams?: Set<string>;
  all: boolean;
  cooldownMs: number;
  /** Minutes of the day [from, to); to < from: past midnight. */
  hours?: { from: number; to: number; clock: Intl.DateTimeFormat };
}

const REGEX_TEXT_MAX = 2000;
const TIME_OF_DAY = /^([01]\d|2[0-3]):([0-5]\d)$/;

const phrasesOf = (value: string | string[] | undefined): string[] => (value === undefined ? [] : typeof value === 'string' ? [value] : value);

/** Whether `words` holds `phrase` as consecutive words. */
function holds(words: readonly string[], phrase: readonly string[]): boolean {
  outer: for (let i = 0; i + phrase.length <= words.length; i++) {
    for (let j = 0; j < phrase.length; j++) if (words[i + j] !== phrase[j]) continue outer;
    return true;
  }
  return false;
}

/**
 * Why a regular expression could take exponential time, or undefined: a repeated group that
 * holds a quantifier or an alternation, as in `(a+)+`, `(\w*\s?)*` or `(a|a)*` (a backtracking
 * engine tries every way of splitting the text among them).
 */
export function runawayRegex(source: string): string | undefined {
  // For each open group: whether it holds a quantifier.
  const groups: boolean[] = [];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') groups.push(false);
    else if (c === ')') {
      const heldQuantifier = groups.pop() ?? false;
      const next = source[i + 1];
      const repeated = next === '*' || next === '+' || (next === '{' && /^\{\d*,\d*\}|^\{\d*[2-9]\d*\}/.test(source.slice(i + 1)));
      if (heldQuantifier && repeated)
        return `a repeated group holds a quantifier or alternatives (near '${source.slice(Math.max(0, i - 10), i + 2)}'), which can take exponential time; write it without nesting`;
      if (heldQuantifier && groups.length) groups[groups.length - 1] = true;
      if (repeated && groups.length) groups[groups.length - 1] = true;
    } else if ((c === '*' || c === '+' || c === '{' || c === '|') && groups.length) groups[groups.length - 1] = true;
  }
  return undefined;
}

/** A rule checked and ready to run: throws RuleInputError naming every problem. */
function compileRule(spec: RuleSpec, source: RuleInfo['source']): CompiledRule {
  const problems: string[] = [];
  const phrases = phrasesOf(spec.match).map((p) => terms(p));
  const not = phrasesOf(spec.not).map((p) => terms(p));
  phrasesOf(spec.match).forEach((p, i) => {
    if (phrases[i]!.length === 0) problems.push(`match ${JSON.stringify(p)} holds no word`);
  });
  phrasesOf(spec.not).forEach((p, i) => {
    if (not[i]!.length === 0) problems.push(`not ${JSON.stringify(p)} holds no word`);
  });
  let regex: RegExp | undefined;
  if (spec.regex !== undefined) {
    if (spec.regex.length > MAX_RULE_REGEX) problems.push(`regex must be at most ${MAX_RULE_REGEX} characters; got ${spec.regex.length}`);
    const runaway = runawayRegex(spec.regex);
    if (runaway) problems.push(`regex: ${runaway}`);
    try {
      regex = new RegExp(spec.regex, 'iu');
    } catch (err) {
      problems.push(`regex does not compile: ${(err as Error).message}`);
    }
  }
  if (phrases.length === 0 && spec.regex === undefined) problems.push('a rule needs match (words or phrases) or regex, or both');
  let hours: CompiledRule['hours'];
  if (spec.activeHours) {
    const { from, to, timezone } = spec.activeHours;
    const minutes = (name: string, value: string) => {
      const m = TIME_OF_DAY.exec(value);
      if (!m) problems.push(`activeHours.${name} must be a time of day as HH:MM (00:00 to 23:59); got ${JSON.stringify(value)}`);
      return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
    };
    let clock: Intl.DateTimeFormat | undefined;
    try {
      clock = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', ...(timezone !== undefined && { timeZone: timezone }) });
    } catch {
      problems.push(`activeHours.timezone must be an IANA time zone such as Europe/Berlin; got ${JSON.stringify(timezone)}`);
    }
    const start = minutes('from', from);
    const end = minutes('to', to);
    if (start === end && TIME_OF_DAY.test(from) && TIME_OF_DAY.test(to)) problems.push('activeHours.from and activeHours.to must differ (leave activeHours out for all day)');
    if (clock) hours = { from: start, to: end, clock };
  }
  if (problems.length) throw new RuleInputError(`rule '${spec.id}': ${problems.join('; ')}`);
  return {
    spec,
    source,
    phrases,
    not,
    regex,
    on: new Set(spec.on ?? RULE_DEFAULTS.on),
    streams: spec.streams && new Set(spec.streams),
    all: (spec.mode ?? RULE_DEFAULTS.mode) === 'all',
    cooldownMs: (spec.cooldown ?? RULE_DEFAULTS.cooldownS) * 1000,
    hours,
  };
}

/** Checks a rule as `RuleBook.set` would, without adding it: throws RuleInputError. */
export function checkRule(spec: RuleSpec): void {
  compileRule(spec, 'api');
}

function minuteOfDay(clock: Intl.DateTimeFormat, now: number): number {
  const [h, m] = clock.format(now).split(':').map(Number);
  return h! * 60 + m!;
}

export class RuleBook {
  private readonly rules = new Map<string, CompiledRule>();
  /** First stemmed word of any phrase → the rules that have it (rebuilt when rules change). */
  private index = new Map<string, CompiledRule[]>();
  /** Rules with no words (a regular expression alone): looked at for every text. */
  private unindexed: CompiledRule[] = [];
  private readonly lastAlert = new Map<string, { stream: string; seq: number; ts: number }>();
  /** `${rule}\0${stream}` → when its last alert was raised there. */
  private readonly cooldownFrom = new Map<string, number>();
  /** `${rule}\0${stream}` while the rule fires there. */
  private readonly firingNow = new Set<string>();
  /** The same, per stream: the rules firing there (read at every event of the stream). */
  private readonly firingOn = new Map<string, Set<string>>();
  private readonly listeners = new Set<(change: FiringChange) => void>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Adds or replaces a rule; throws RuleInputError (and changes nothing) when it makes no sense. */
  set(spec: RuleSpec, source: RuleInfo['source']): RuleInfo {
    const compiled = compileRule(spec, source);
    const old = this.rules.get(spec.id);
    this.rules.set(spec.id, compiled);
    this.reindex();
    // A changed rule starts afresh: where it fired before says nothing about what it matches now.
    if (old) this.clearFiring((key) => key.startsWith(`${spec.id}\0`));
    return this.info(compiled);
  }

  /** Removes a rule; false if there was none. */
  delete(id: string): boolean {
    if (!this.rules.delete(id)) return false;
    this.reindex();
    this.clearFiring((key) => key.startsWith(`${id}\0`));
    for (const key of [...this.cooldownFrom.keys()]) if (key.startsWith(`${id}\0`)) this.cooldownFrom.delete(key);
    this.lastAlert.delete(id);
    return true;
  }

  get(id: string): RuleInfo | undefined {
    const rule = this.rules.get(id);
    return rule && this.info(rule);
  }

  list(): RuleInfo[] {
    return [...this.rules.values()].map((r) => this.info(r));
  }

  get size(): number {
    return this.rules.size;
  }

  /** Hears where rules start and stop firing; the returned function stops it. */
  onFiring(listener: (change: FiringChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The rules firing on a stream now. */
  firing(stream: string): string[] {
    return [...this.rules.keys()].filter((id) => this.firingOn.get(stream)?.has(id));
  }

  /**
   * Reads a caption or summary: updates where rules fire, and returns the rules that raise an
   * alert for it now (matched, active at this hour, out of their cooldown). The caller gives each
   * alert its seq and then calls `alerted`.
   */
  evaluate(input: RuleInput): Fired[] {
    if (this.rules.size === 0 || input.outOfDomain) return [];
    const now = this.now();
    const words = terms(input.text);
    const present = new Set(words);
    const looked = new Set<CompiledRule>();
    const fired: Fired[] = [];
    const consider = (rule: CompiledRule) => {
      if (looked.has(rule)) return;
      looked.add(rule);
      if (!rule.on.has(input.type) || (rule.streams && !rule.streams.has(input.stream))) return;
      const matched = this.matches(rule, words, input.text, now);
      const key = `${rule.spec.id}\0${input.stream}`;
      this.setFiring(key, input.stream, rule.spec.id, matched);
      if (!matched) return;
      const from = this.cooldownFrom.get(key);
      if (from !== undefined && now - from < rule.cooldownMs) return;
      this.cooldownFrom.set(key, now);
      fired.push({ rule: rule.spec.id, name: rule.spec.name ?? rule.spec.id });
    };
    for (const word of present) for (const rule of this.index.get(word) ?? []) consider(rule);
    for (const rule of this.unindexed) consider(rule);
    // Rules not looked at do not match this text: those that fired here stop.
    for (const ruleId of [...(this.firingOn.get(input.stream) ?? [])]) {
      const rule = this.rules.get(ruleId);
      if (!rule || looked.has(rule) || !rule.on.has(input.type)) continue;
      this.setFiring(`${ruleId}\0${input.stream}`, input.stream, ruleId, false);
    }
    return fired;
  }

  /** Records the alert a rule raised (for the API's `lastAlert`). */
  alerted(rule: string, stream: string, seq: number, ts: number): void {
    if (this.rules.has(rule)) this.lastAlert.set(rule, { stream, seq, ts });
  }

  /** A stream stopped: no rule fires on it any more. */
  streamStopped(stream: string): void {
    this.clearFiring((key) => key.endsWith(`\0${stream}`));
  }

  private matches(rule: CompiledRule, words: readonly string[], text: string, now: number): boolean {
    if (!rule.spec.enabled && rule.spec.enabled !== undefined) return false;
    if (rule.hours) {
      const minute = minuteOfDay(rule.hours.clock, now);
      const { from, to } = rule.hours;
      const inside = from < to ? minute >= from && minute < to : minute >= from || minute < to;
      if (!inside) return false;
    }
    if (rule.phrases.length) {
      const found = rule.all ? rule.phrases.every((p) => holds(words, p)) : rule.phrases.some((p) => holds(words, p));
      if (!found) return false;
    }
    if (rule.not.some((p) => holds(words, p))) return false;
    return !rule.regex || rule.regex.test(text.slice(0, REGEX_TEXT_MAX));
  }

  private setFiring(key: string, stream: string, rule: string, on: boolean): void {
    if (this.firingNow.has(key) === on) return;
    const here = this.firingOn.get(stream) ?? new Set<string>();
    if (on) {
      this.firingNow.add(key);
      here.add(rule);
      this.firingOn.set(stream, here);
    } else {
      this.firingNow.delete(key);
      here.delete(rule);
      if (here.size === 0) this.firingOn.delete(stream);
    }
    for (const listener of this.listeners) listener({ stream, rule, on });
  }

  private clearFiring(which: (key: string) => boolean): void {
    for (const key of [...this.firingNow]) {
      if (!which(key)) continue;
      const [rule, stream] = key.split('\0') as [string, string];
      this.setFiring(key, stream, rule, false);
    }
  }

  private reindex(): void {
    this.index = new Map();
    this.unindexed = [];
    for (const rule of this.rules.values()) {
      if (rule.phrases.length === 0) {
        this.unindexed.push(rule);
        continue;
      }
      // A text can only match when it holds the first word of one of the rule's phrases.
      for (const first of new Set(rule.phrases.map((p) => p[0]!))) {
        const list = this.index.get(first) ?? [];
        list.push(rule);
        this.index.set(first, list);
      }
    }
  }

  private info(rule: CompiledRule): RuleInfo {
    const id = rule.spec.id;
    const firing = [...this.firingNow].filter((key) => key.startsWith(`${id}\0`)).map((key) => key.slice(id.length + 1));
    const last = this.lastAlert.get(id);
    return { ...rule.spec, source: rule.source, firing, ...(last && { lastAlert: last }) };
  }
}
