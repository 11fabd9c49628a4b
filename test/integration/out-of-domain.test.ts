/**
 * The embedded captioner knows when it does not know: `livecap caption` on real photographs
 * (Debian's sample data, see helpers/real-media.ts) flags them out of domain, and flags almost
 * none of a synthetic set drawn with a seed no training or calibration step used.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { livecap } from '../helpers/livecap-process.js';
import { realMedia, REAL_MEDIA_MISSING } from '../helpers/real-media.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import { writeDataset } from '../../src/synth/dataset.js';
import { sampleVideoFrames } from '../../src/ingest/sample-frames.js';
import { encodePng } from '../../src/media/image.js';
import type { Frame } from '../../src/core/frame.js';

const media = realMedia();
let dir: string;
let synthetic: string[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livecap-ood-'));
  await writeDataset({ outDir: dir, count: 300, seed: 4242, progress: false });
  synthetic = (await readdir(join(dir, 'Images'))).map((n) => join(dir, 'Images', n));
});

after(() => rm(dir, { recursive: true, force: true }));

interface Line {
  image: string;
  caption: string;
  outOfDomain: boolean;
  domainScore: number;
  domainCheck?: string;
}

async function captionJson(images: string[]): Promise<Line[]> {
  const run = livecap(['caption', '--json', ...images]);
  const { code } = await run.exited;
  assert.equal(code, 0, run.stderr());
  return run
    .stdout()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
}

test('caption --json flags at least 90% of real photographs as out of domain', { skip: !media && REAL_MEDIA_MISSING }, async () => {
  const lines = await captionJson(media!.photos);
  assert.equal(lines.length, media!.photos.length);
  for (const l of lines) assert.equal(typeof l.outOfDomain, 'boolean', JSON.stringify(l));
  const flagged = lines.filter((l) => l.outOfDomain);
  const missed = lines.filter((l) => !l.outOfDomain).map((l) => l.image.split('/').pop());
  assert.ok(flagged.length / lines.length >= 0.9, `${flagged.length} of ${lines.length} flagged; missed ${missed.join(', ')}`);
  for (const l of flagged) assert.ok(l.domainScore > 1, JSON.stringify(l));
});

test('a camera at night, in fog, or in infrared is still flagged; a blank frame is flagged flat', { skip: !media && REAL_MEDIA_MISSING, timeout: 120_000 }, async () => {
  const frames = await sampleVideoFrames(media!.surveillance, { fps: 0.5, width: 160, height: 120, limit: 10 });
  const map = (f: Frame, fn: (v: number, i: number) => number): Frame => ({ ...f, data: Uint8Array.from(f.data, fn) });
  const grey = (f: Frame, i: number) => 0.299 * f.data[i - (i % 3)]! + 0.587 * f.data[i - (i % 3) + 1]! + 0.114 * f.data[i - (i % 3) + 2]!;
  const looks: Record<string, (f: Frame) => Frame> = {
    night: (f) => map(f, (v) => v * 0.3),
    fog: (f) => map(f, (v) => 128 + (v - 128) * 0.3),
    infrared: (f) => map(f, (_, i) => 20 + 0.4 * grey(f, i)),
  };
  const files: string[] = [];
  for (const [name, look] of Object.entries(looks)) {
    for (const [i, f] of frames.entries()) {
      const file = join(dir, `${name}-${i}.png`);
      await writeFile(file, encodePng(look(f)));
      files.push(file);
    }
  }
  for (const level of [0, 40, 128, 255]) {
    const file = join(dir, `blank-${level}.png`);
    await writeFile(file, encodePng({ width: 160, height: 120, data: new Uint8Array(160 * 120 * 3).fill(level) }));
    files.push(file);
  }
  const lines = await captionJson(files);
  for (const name of Object.keys(looks)) {
    const set = lines.filter((l) => l.image.includes(`/${name}-`));
    assert.ok(set.filter((l) => l.outOfDomain).length / set.length >= 0.9, `${name}: ${set.map((l) => l.domainScore).join(', ')}`);
  }
  for (const l of lines.filter((l) => l.image.includes('/blank-'))) assert.deepEqual([l.outOfDomain, l.domainCheck], [true, 'flat'], JSON.stringify(l));
});

test('caption --json flags at most 3% of held-out synthetic pictures', async () => {
  const lines = await captionJson(synthetic);
  assert.equal(lines.length, 300);
  const flagged = lines.filter((l) => l.outOfDomain === true).length;
  assert.equal(lines.filter((l) => l.outOfDomain === false).length, 300 - flagged);
  assert.ok(flagged <= 9, `${flagged} of 300 held-out synthetic pictures flagged`);
});

test('the plain output marks an out-of-domain caption and says once, on stderr, what the model knows', { skip: !media && REAL_MEDIA_MISSING }, async () => {
  const astronaut = media!.photos.find((p) => p.endsWith('astronaut.png'))!;
  const run = livecap(['caption', astronaut, synthetic[0]!, media!.photos[0]!]);
  assert.equal((await run.exited).code, 0, run.stderr());
  const [first, second, third] = run.stdout().trim().split('\n');
  assert.match(first!, /^\S+astronaut\.png\t.+ \[out of domain\]$/);
  assert.doesNotMatch(second!, /out of domain/);
  assert.match(third!, /\[out of domain\]$/);
  const notes = run
    .stderr()
    .split('\n')
    .filter((l) => l.includes('beyond what this captioner knows'));
  assert.equal(notes.length, 1);
  assert.match(notes[0]!, /Synthetic pictures only.*livecap models pull.*openai/);
});

test("the model folder's manifest describes its domain in words and names its detector", async () => {
  const manifest = JSON.parse(await readFile(join(EMBEDDED_CAPTIONER, 'captioner.json'), 'utf8'));
  assert.match(manifest.domain.description, /^Synthetic pictures only: .*circle.*people, animals, vehicles/);
  const detector = JSON.parse(await readFile(join(EMBEDDED_CAPTIONER, manifest.domain.detector), 'utf8'));
  assert.equal(detector.format, 'livecap-domain-2');
  // The calibration it was built with is kept beside it: ≤ 3% of held-out pictures over the threshold.
  assert.ok(detector.calibration.heldout.flagged / detector.calibration.heldout.pictures <= 0.03);
});
