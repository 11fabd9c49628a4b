/**
 * The rules' stemmer against SQLite's own (FTS5 `porter unicode61`, the history's search index):
 * every word of this project's docs and of Node's typings (their comments), about 10,000 distinct words,
 * must get the stem SQLite gives it, or a rule and a search would disagree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stem } from '../../src/rules/porter.js';
import { terms } from '../../src/rules/terms.js';
import { PROJECT_ROOT } from '../../src/paths.js';

function sqliteTerms(texts: string[]): string[][] {
  const db = new Database(':memory:');
  try {
    db.exec("CREATE VIRTUAL TABLE t USING fts5 (x, tokenize = 'porter unicode61'); CREATE VIRTUAL TABLE v USING fts5vocab (t, 'instance')");
    const insert = db.prepare('INSERT INTO t (rowid, x) VALUES (?, ?)');
    db.transaction(() => texts.forEach((text, i) => insert.run(i + 1, text)))();
    const out: string[][] = texts.map(() => []);
    for (const row of db.prepare('SELECT term, doc, offset FROM v ORDER BY doc, offset').all() as { term: string; doc: number; offset: number }[]) out[row.doc - 1]![row.offset] = row.term;
    return out;
  } finally {
    db.close();
  }
}

function corpusWords(): string[] {
  const root = PROJECT_ROOT;
  const nodeTypes = join(root, 'node_modules', '@types', 'node');
  const files = [
    join(root, 'README.md'),
    ...readdirSync(join(root, 'docs')).map((f) => join(root, 'docs', f)),
    ...readdirSync(nodeTypes)
      .filter((f) => f.endsWith('.d.ts'))
      .map((f) => join(nodeTypes, f)),
  ];
  const words = new Set<string>();
  for (const file of files)
    for (const w of readFileSync(file, 'utf8')
      .toLowerCase()
      .match(/[a-z]+/g) ?? [])
      words.add(w);
  return [...words];
}

test('stems every word as SQLite FTS5 does', () => {
  const words = corpusWords();
  assert.ok(words.length > 5000, `only ${words.length} words to compare`);
  const expected = sqliteTerms(words);
  const wrong = words.filter((w, i) => stem(w) !== expected[i]![0]).map((w) => `${w}: ${stem(w)} (SQLite: ${expected[words.indexOf(w)]![0]})`);
  assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} of ${words.length} words stemmed differently`);
});

test('splits and folds text as the search index does', () => {
  const texts = ['Two red cars, parked.', 'A PERSON walking near the door', 'Café crème: naïve résumé', 'x2 robot-arms 3D', 'über straße', 'The dogs’ owners'];
  const expected = sqliteTerms(texts);
  texts.forEach((text, i) => assert.deepEqual(terms(text), expected[i], text));
});
