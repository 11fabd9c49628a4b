/**
 * Rules as a user writes them, against captions: stemmed words and phrases (as search stems
 * them), any/all, negation, regular expressions, the streams and texts a rule reads, cooldowns,
 * active hours in a time zone, where a rule fires, and the rules refused with a reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuleBook, RuleInputError, runawayRegex, type FiringChange } from '../../src/rules/rule-book.js';
import type { RuleSpec } from '../../src/rules/rule.js';

function book(rules: RuleSpec[], start = Date.UTC(2026, 10, 28, 12, 0)) {
  let now = start;
  const b = new RuleBook(() => now);
  for (const r of rules) b.set(r, 'config');
  return { b, advance: (ms: number) => (now += ms), at: (t: number) => (now = t) };
}
const caption = (text: string, stream = 'door', extra: { outOfDomain?: boolean } = {}) => ({ type: 'caption' as const, stream, text, ...extra });
const fired = (b: RuleBook, text: string, stream = 'door') => b.evaluate(caption(text, stream)).map((f) => f.rule);

test('words and phrases match with the stemming search uses', () => {
  const { b } = book([
    { id: 'car', match: 'red car', cooldown: 0 },
    { id: 'walker', match: 'person walking', cooldown: 0 },
  ]);
  assert.deepEqual(fired(b, 'Two RED cars parked by the gate'), ['car']);
  assert.deepEqual(fired(b, 'a red sports car'), [], 'a phrase is words next to each other');
  assert.deepEqual(fired(b, 'a car, red'), []);
  assert.deepEqual(fired(b, 'persons walked past'), ['walker'], 'persons/person, walked/walking share their stems');
  assert.deepEqual(fired(b, 'nothing here'), []);
});

test('any, all, not and a regular expression', () => {
  const { b } = book([
    { id: 'any', match: ['dog', 'cat'], cooldown: 0 },
    { id: 'all', match: ['dog', 'cat'], mode: 'all', cooldown: 0 },
    { id: 'not', match: 'person', not: ['poster', 'painting of'], cooldown: 0 },
    { id: 're', regex: '\\b(two|three) (cars?|trucks?)\\b', cooldown: 0 },
    { id: 'both', match: 'truck', regex: '^a ', cooldown: 0 },
  ]);
  assert.deepEqual(fired(b, 'a dog on the lawn').sort(), ['any']);
  assert.deepEqual(fired(b, 'a cat and a dog').sort(), ['all', 'any']);
  assert.deepEqual(fired(b, 'a person at the door'), ['not']);
  assert.deepEqual(fired(b, 'a poster of a person'), []);
  assert.deepEqual(fired(b, 'a painting of a person'), []);
  assert.deepEqual(fired(b, 'Three Trucks in a row').sort(), ['re']);
  assert.deepEqual(fired(b, 'a truck').sort(), ['both']);
  assert.deepEqual(fired(b, 'the truck').sort(), [], 'the words and the expression must both match');
});

test('a rule reads only its streams and its kinds of text; out-of-domain captions are not read', () => {
  const { b } = book([
    { id: 'door-only', streams: ['door'], match: 'person', cooldown: 0 },
    { id: 'summaries', match: 'person', on: ['summary'], cooldown: 0 },
  ]);
  assert.deepEqual(fired(b, 'a person', 'yard'), []);
  assert.deepEqual(fired(b, 'a person', 'door'), ['door-only']);
  assert.deepEqual(
    b.evaluate({ type: 'summary', stream: 'yard', text: 'a person came and went' }).map((f) => f.rule),
    ['summaries'],
  );
  assert.deepEqual(b.evaluate(caption('a person', 'door', { outOfDomain: true })), [], 'the captioner does not know the scene: its words mean nothing');
});

test('a cooldown per rule and stream; the rule still fires while it cools', () => {
  const { b, advance } = book([{ id: 'p', match: 'person', cooldown: 60 }]);
  assert.deepEqual(fired(b, 'a person'), ['p']);
  advance(30_000);
  assert.deepEqual(fired(b, 'a person sitting'), [], 'within the cooldown');
  assert.deepEqual(b.firing('door'), ['p']);
  assert.deepEqual(fired(b, 'a person', 'yard'), ['p'], 'another stream has its own cooldown');
  advance(30_000);
  assert.deepEqual(fired(b, 'a person'), ['p'], 'the cooldown is over');
});

test('active hours, past midnight, in a time zone', () => {
  const night = { id: 'night', match: 'person', cooldown: 0, activeHours: { from: '22:00', to: '06:00', timezone: 'Europe/Berlin' } };
  const { b, at } = book([night]);
  at(Date.UTC(2026, 10, 28, 12, 0)); // 13:00 in Berlin
  assert.deepEqual(fired(b, 'a person'), []);
  at(Date.UTC(2026, 10, 28, 21, 30)); // 22:30 in Berlin
  assert.deepEqual(fired(b, 'a person'), ['night']);
  at(Date.UTC(2026, 10, 29, 4, 59)); // 05:59
  assert.deepEqual(fired(b, 'a person'), ['night']);
  at(Date.UTC(2026, 10, 29, 5, 0)); // 06:00: over
  assert.deepEqual(fired(b, 'a person'), []);
});

test('where a rule fires: on while the latest text matches, off when one does not or the stream stops', () => {
  const { b } = book([{ id: 'p', match: 'person', cooldown: 0 }]);
  const changes: FiringChange[] = [];
  b.onFiring((c) => changes.push(c));
  fired(b, 'a person');
  fired(b, 'a person again');
  fired(b, 'an empty lawn');
  fired(b, 'a person', 'yard');
  b.streamStopped('yard');
  assert.deepEqual(changes, [
    { stream: 'door', rule: 'p', on: true },
    { stream: 'door', rule: 'p', on: false },
    { stream: 'yard', rule: 'p', on: true },
    { stream: 'yard', rule: 'p', on: false },
  ]);
  assert.deepEqual(b.get('p')?.firing, []);
});

test('a disabled rule raises nothing; a replaced or removed rule stops firing', () => {
  const { b } = book([{ id: 'p', match: 'person', cooldown: 0 }]);
  fired(b, 'a person');
  assert.deepEqual(b.firing('door'), ['p']);
  b.set({ id: 'p', match: 'person', enabled: false }, 'api');
  assert.deepEqual(b.firing('door'), []);
  assert.deepEqual(fired(b, 'a person'), []);
  b.set({ id: 'p', match: 'dog', cooldown: 0 }, 'api');
  assert.deepEqual(fired(b, 'a dog'), ['p']);
  assert.equal(b.delete('p'), true);
  assert.deepEqual(fired(b, 'a dog'), []);
  assert.equal(b.delete('p'), false);
});

test('rules that make no sense are refused, every problem named', () => {
  const { b } = book([]);
  const refused = (spec: RuleSpec, ...parts: RegExp[]) => {
    assert.throws(
      () => b.set(spec, 'api'),
      (err: Error) => err instanceof RuleInputError && parts.every((p) => p.test(err.message)),
    );
    assert.equal(b.get(spec.id), undefined, 'nothing was added');
  };
  refused({ id: 'none' }, /needs match .* or regex/);
  refused({ id: 'punct', match: '!!' }, /match "!!" holds no word/);
  refused({ id: 'bad-re', regex: '(' }, /regex does not compile/);
  refused({ id: 'runaway', regex: '(a+)+$' }, /exponential time/);
  refused({ id: 'hours', match: 'x', activeHours: { from: '25:00', to: '6:00', timezone: 'Mars/Olympus' } }, /activeHours.from must be a time of day/, /activeHours.to/, /IANA time zone/);
  refused({ id: 'same', match: 'x', activeHours: { from: '08:00', to: '08:00' } }, /must differ/);
});

test('runaway regular expressions: nested quantifiers are found, ordinary ones pass', () => {
  for (const re of ['(a+)+', '(\\w*\\s?)*', '((ab)*c)+', '(x+y){2,}', '([a-z]+)*$', '(a|a)*b', '(?:red|reds)+']) assert.ok(runawayRegex(re), re);
  for (const re of ['(cat|dog)s?', '\\b(two|three) cars?\\b', '[(+*|)]+', 'a+b*c{1,3}', '\\(a+\\)+', '(red|blue) (car|truck)', 'a|b+']) assert.equal(runawayRegex(re), undefined, re);
});

test('1,000 rules: only the rules whose words a text holds are read', () => {
  const rules: RuleSpec[] = Array.from({ length: 1000 }, (_, i) => ({ id: `r${i}`, match: [`word${i}`, `thing${i} here`], cooldown: 0 }));
  const { b } = book(rules);
  assert.deepEqual(fired(b, 'word17 and thing900 here'), ['r17', 'r900']);
});
