/**
 * The Porter stemmer (M. F. Porter, "An algorithm for suffix stripping", 1980), as the history's
 * full-text index applies it (SQLite FTS5's `porter` tokenizer): so a rule matches the same
 * words a search for it finds ("cars" and "car", "walking" and "walks"). Written from the
 * paper's steps; test/unit/porter.test.ts checks it word for word against SQLite's own stems.
 *
 * Like SQLite, words shorter than 3 or longer than 64 bytes are left as they are.
 */

const VOWELS = new Set(['a', 'e', 'i', 'o', 'u']);

/** Whether w[i] is a consonant: not a vowel, and 'y' only after a vowel (or first). */
function consonant(w: string, i: number): boolean {
  const c = w[i]!;
  if (VOWELS.has(c)) return false;
  if (c === 'y') return i === 0 || !consonant(w, i - 1);
  return true;
}

/** m in [C](VC)^m[V]: how many vowel-consonant runs the stem w[0..end) has. */
function measure(w: string, end: number): number {
  let m = 0;
  let i = 0;
  while (i < end && consonant(w, i)) i++;
  while (i < end) {
    while (i < end && !consonant(w, i)) i++;
    if (i >= end) break;
    while (i < end && consonant(w, i)) i++;
    m++;
  }
  return m;
}

/** *v*: the stem w[0..end) holds a vowel. */
function hasVowel(w: string, end: number): boolean {
  for (let i = 0; i < end; i++) if (!consonant(w, i)) return true;
  return false;
}

/** *d: the stem ends with a double consonant. */
function doubleConsonant(w: string, end: number): boolean {
  return end >= 2 && w[end - 1] === w[end - 2] && consonant(w, end - 1);
}

/** *o: the stem ends consonant-vowel-consonant, the last not w, x or y. */
function cvc(w: string, end: number): boolean {
  if (end < 3) return false;
  if (!consonant(w, end - 1) || consonant(w, end - 2) || !consonant(w, end - 3)) return false;
  const c = w[end - 1]!;
  return c !== 'w' && c !== 'x' && c !== 'y';
}

type Condition = (w: string, stemEnd: number) => boolean;
const mGt0: Condition = (w, end) => measure(w, end) > 0;
const mGt1: Condition = (w, end) => measure(w, end) > 1;

/**
 * One step: the longest listed suffix the word ends with decides; if its stem meets the
 * condition the suffix is replaced, and either way no other suffix of the step is tried.
 */
function step(w: string, rules: readonly (readonly [string, string])[], condition: Condition): string {
  for (const [suffix, replacement] of rules) {
    if (w.length > suffix.length && w.endsWith(suffix)) {
      const end = w.length - suffix.length;
      return condition(w, end) ? w.slice(0, end) + replacement : w;
    }
  }
  return w;
}

// Longest first, so that the first suffix found is the longest.
const byLength = (rules: [string, string][]) => rules.sort((a, b) => b[0].length - a[0].length);

const STEP2 = byLength([
  ['ational', 'ate'],
  ['tional', 'tion'],
  ['enci', 'ence'],
  ['anci', 'ance'],
  ['izer', 'ize'],
  ['bli', 'ble'],
  ['alli', 'al'],
  ['entli', 'ent'],
  ['eli', 'e'],
  ['ousli', 'ous'],
  ['ization', 'ize'],
  ['ation', 'ate'],
  ['ator', 'ate'],
  ['alism', 'al'],
  ['iveness', 'ive'],
  ['fulness', 'ful'],
  ['ousness', 'ous'],
  ['aliti', 'al'],
  ['iviti', 'ive'],
  ['biliti', 'ble'],
  ['logi', 'log'],
]);

const STEP3 = byLength([
  ['icate', 'ic'],
  ['ative', ''],
  ['alize', 'al'],
  ['iciti', 'ic'],
  ['ical', 'ic'],
  ['ful', ''],
  ['ness', ''],
]);

const STEP4 = byLength(['al', 'ance', 'ence', 'er', 'ic', 'able', 'ible', 'ant', 'ement', 'ment', 'ent', 'ion', 'ou', 'ism', 'ate', 'iti', 'ous', 'ive', 'ize'].map((s): [string, string] => [s, '']));

/** Step 4's condition: m > 1, and for -ion a stem ending in s or t. */
const step4Condition = (w: string, end: number) => mGt1(w, end) && (!w.endsWith('ion', undefined) || w.length - end !== 3 || w[end - 1] === 's' || w[end - 1] === 't');

function step1a(w: string): string {
  if (w.endsWith('sses')) return w.slice(0, -2);
  if (w.endsWith('ies')) return w.slice(0, -2);
  if (w.endsWith('ss')) return w;
  if (w.endsWith('s')) return w.slice(0, -1);
  return w;
}

function step1b(w: string): string {
  if (w.endsWith('eed')) return mGt0(w, w.length - 3) ? w.slice(0, -1) : w;
  let stem: string | undefined;
  if (w.endsWith('ed') && hasVowel(w, w.length - 2)) stem = w.slice(0, -2);
  else if (w.endsWith('ing') && hasVowel(w, w.length - 3)) stem = w.slice(0, -3);
  if (stem === undefined) return w;
  if (stem.endsWith('at') || stem.endsWith('bl') || stem.endsWith('iz')) return `${stem}e`;
  const last = stem[stem.length - 1];
  if (doubleConsonant(stem, stem.length) && last !== 'l' && last !== 's' && last !== 'z') return stem.slice(0, -1);
  if (measure(stem, stem.length) === 1 && cvc(stem, stem.length)) return `${stem}e`;
  return stem;
}

function step1c(w: string): string {
  return w.endsWith('y') && hasVowel(w, w.length - 1) ? `${w.slice(0, -1)}i` : w;
}

function step5(w: string): string {
  if (w.endsWith('e')) {
    const end = w.length - 1;
    const m = measure(w, end);
    if (m > 1 || (m === 1 && !cvc(w, end))) w = w.slice(0, end);
  }
  if (w.endsWith('ll') && measure(w, w.length) > 1) w = w.slice(0, -1);
  return w;
}

/** The stem of a lower-case word: `stem('walking')` is `'walk'`, `stem('cars')` is `'car'`. */
export function stem(word: string): string {
  // Byte by byte, as SQLite does: a letter beyond ASCII counts as consonants, one per byte.
  const bytes = Buffer.from(word, 'utf8');
  if (bytes.length < 3 || bytes.length > 64) return word;
  const stemmed = stemBytes(bytes.toString('latin1'));
  return Buffer.from(stemmed, 'latin1').toString('utf8');
}

function stemBytes(word: string): string {
  let w = step1a(word);
  w = step1b(w);
  w = step1c(w);
  w = step(w, STEP2, mGt0);
  w = step(w, STEP3, mGt0);
  w = step(w, STEP4, step4Condition);
  return step5(w);
}
