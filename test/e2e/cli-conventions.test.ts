/**
 * The command line follows the usual conventions, checked on the real `livecap` command:
 * `--help` on every command and sub-command prints its usage on stdout and exits 0; a usage
 * error (unknown flag, unknown sub-command, missing or bad value) says what on stderr, prints
 * nothing on stdout and exits 2; `--version` prints the version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function livecap(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(PROJECT_ROOT, 'bin', 'livecap.js'), ...args], { env: { ...process.env, LIVECAP_LOG: 'warn' }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Runs every case, a few at a time (each one starts Node and loads its command). */
async function runAll(cases: string[][]): Promise<Run[]> {
  const results: Run[] = new Array(cases.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      while (next < cases.length) {
        const i = next++;
        results[i] = await livecap(cases[i]!);
      }
    }),
  );
  return results;
}

const COMMANDS = [
  ['serve'],
  ['synth'],
  ['synth', 'dataset'],
  ['synth', 'video'],
  ['train'],
  ['finetune'],
  ['train-summarizer'],
  ['eval'],
  ['eval-summarizer'],
  ['caption'],
  ['summarize'],
  ['scenes'],
  ['models'],
  ['models', 'pull'],
  ['bench'],
  ...['captioner', 'scenes', 'ingest', 'generation', 'florence2', 'viewers', 'soak', 'hostile', 'domain'].map((b) => ['bench', b]),
];

test('--help on every command and sub-command: its usage on stdout, status 0', async () => {
  const cases = [['--help'], ['-h'], ['help'], ...COMMANDS.map((c) => [...c, '--help']), ['synth', 'video', '-h']];
  const runs = await runAll(cases);
  cases.forEach((args, i) => {
    const { code, stdout, stderr } = runs[i]!;
    const words = args.filter((a) => !a.startsWith('-') && a !== 'help');
    assert.equal(code, 0, `livecap ${args.join(' ')}: status (stderr: ${stderr})`);
    assert.match(stdout, /^usage: /, `livecap ${args.join(' ')}: usage on stdout`);
    assert.ok(stdout.includes(`livecap ${words.join(' ')}`), `livecap ${args.join(' ')}: the usage names the command:\n${stdout}`);
  });
});

test('usage errors: a message on stderr naming the problem, nothing on stdout, status 2', async () => {
  const cases: [string[], RegExp][] = [
    ...COMMANDS.map((c): [string[], RegExp] => [[...c, '--bogus-flag'], /'--bogus-flag'/]),
    [['--bogus-flag'], /unknown command '--bogus-flag'/],
    [[], /^usage: livecap <command>/],
    [['nope'], /unknown command 'nope'/],
    [['synth', 'nope'], /unknown synth kind 'nope'/],
    [['models', 'nope'], /unknown models action 'nope'/],
    [['bench', 'nope'], /unknown benchmark 'nope'/],
    [['synth', 'dataset', '--count', '3'], /--out is required/],
    [['models', 'pull'], /expected one model name/],
    [['scenes'], /expected one video/],
    [['caption'], /expected one or more images/],
    [['synth', 'video', '--out', '/nonexistent/x.mp4', '--fps', 'ten'], /--fps must be a whole number, got 'ten'/],
    [['serve', '--port', 'eighty'], /--port: must be a number, got 'eighty'/],
    [['eval', '--dataset', '/nonexistent', '--split', 'nope'], /--split must be test, val, train or all, got 'nope'/],
    [['bench', 'ingest', '--runs', 'many'], /--runs must be a number, got 'many'/],
    [['synth', 'dataset', '--out'], /--out/],
    [['models', 'pull', 'a/b', '--dtype', 'q3'], /--dtype: unknown dtype 'q3' \(expected auto, fp32, fp16, q8/],
    [['summarize', '--dtype', 'half'], /--dtype: unknown dtype 'half'/],
    [['caption', '--dtype', 'q8', 'x.jpg'], /--dtype chooses among the files of an ONNX export/],
  ];
  const runs = await runAll(cases.map(([args]) => args));
  cases.forEach(([args, message], i) => {
    const { code, stdout, stderr } = runs[i]!;
    assert.equal(code, 2, `livecap ${args.join(' ')}: status (stderr: ${stderr})`);
    assert.equal(stdout, '', `livecap ${args.join(' ')}: nothing on stdout`);
    assert.match(stderr, message, `livecap ${args.join(' ')}: stderr`);
  });
});

test('--version prints the version from package.json', async () => {
  const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const { code, stdout } = await livecap([flag]);
    assert.equal(code, 0);
    assert.equal(stdout, `livecap ${version}\n`);
  }
});
