/**
 * The import rules of docs/architecture.md, checked on the sources: each folder of src/ imports
 * only the folders below it, and no module reaches itself through its imports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

const SRC = join(PROJECT_ROOT, 'src');

/**
 * What each folder (or top-level file) may import besides itself. Serving code (core to
 * config) never imports the tools (synth, train, plot) or the commands; cli.ts loads the
 * commands; commands may use anything below them.
 */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  'paths.ts': [],
  util: ['core'],
  media: ['core', 'util'],
  ingest: ['core', 'util', 'media'],
  models: ['core', 'util', 'media'],
  pipeline: ['core', 'util', 'media', 'ingest'],
  store: ['core', 'util'],
  cluster: ['core', 'util'],
  rules: ['core', 'util', 'store'],
  notify: ['core', 'util', 'store', 'rules'],
  stream: ['core', 'util', 'media', 'ingest', 'pipeline', 'store', 'cluster', 'rules', 'notify', 'paths.ts'],
  config: ['core', 'util', 'ingest', 'models', 'store', 'cluster', 'rules', 'notify', 'stream', 'paths.ts'],
  synth: ['core', 'util', 'media'],
  plot: ['core', 'util', 'media'],
  train: ['core', 'util', 'media', 'ingest', 'models', 'pipeline', 'plot', 'synth'],
  commands: ['core', 'util', 'media', 'ingest', 'models', 'pipeline', 'store', 'cluster', 'rules', 'notify', 'stream', 'config', 'synth', 'train', 'plot', 'paths.ts'],
  'cli.ts': ['commands'],
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The modules of src/ a file imports (static, dynamic and type-only), as absolute .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.[^']+)'/g)].map((m) => m[1]!);
  return specs.map((spec) => resolve(dirname(file), spec).replace(/\.js$/, '.ts')).filter((path) => path.startsWith(SRC));
}

/** The folder of src/ a file belongs to (a top-level file is its own). */
const home = (file: string) => relative(SRC, file).split('/')[0]!;

const files = sources(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('every folder of src/ has an import rule', () => {
  const homes = new Set(files.map(home));
  assert.deepEqual(
    [...homes].filter((h) => !(h in ALLOWED)),
    [],
  );
});

test('imports run one way: each folder imports only the folders below it', () => {
  const wrong: string[] = [];
  for (const [file, imports] of graph) {
    const from = home(file);
    for (const target of imports) {
      const to = home(target);
      if (to !== from && !ALLOWED[from]!.includes(to)) wrong.push(`${relative(SRC, file)} → ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('no module imports itself through others (no cycles)', () => {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(' → '));
      return;
    }
    state.set(file, 'open');
    for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of files) visit(file, []);
  assert.deepEqual(cycles, []);
});

test('the rules see real imports (they would catch one against the grain)', () => {
  const store = [...graph].filter(([file]) => home(file) === 'store');
  assert.ok(store.length > 0);
  assert.ok(
    store.some(([, imports]) => imports.some((t) => home(t) === 'core')),
    'store imports core',
  );
  assert.ok(!ALLOWED.store!.includes('stream'), 'store may not import the server');
});
