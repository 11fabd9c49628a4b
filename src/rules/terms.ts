/**
 * The words of a text as the history's full-text index sees them (SQLite FTS5's `unicode61`
 * tokenizer with `porter` stems): lower case, diacritics removed, split at anything that is not
 * a letter or a digit, each word stemmed. Rules match on these, so a rule and a search agree on
 * what a caption says.
 */
import { stem } from './porter.js';

const WORD = /[\p{L}\p{N}\p{Co}]+/gu;
const DIACRITICS = /\p{M}+/gu;

/** `terms('Two red cars, parked.')` is `['two', 'red', 'car', 'park']`. */
export function terms(text: string): string[] {
  const words = text.toLowerCase().normalize('NFD').replace(DIACRITICS, '').match(WORD);
  return words ? words.map(stem) : [];
}
