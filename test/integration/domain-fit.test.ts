/**
 * `livecap domain` end to end on a copy of the embedded captioner, small: it writes the three
 * distance checks (the joint one over both views, twice the feature size), names the detector
 * in the manifest, and the captioner then judges frames with all of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { livecap } from '../helpers/livecap-process.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import { encodePng } from '../../src/media/image.js';
import { renderScene } from '../../src/synth/render.js';
import { randomScene } from '../../src/synth/world.js';
import { Rng } from '../../src/util/rng.js';

test('livecap domain fits the plain, stretched and joint checks, and captions then use them', { timeout: 300_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-domain-fit-'));
  try {
    const model = join(dir, 'model');
    await cp(EMBEDDED_CAPTIONER, model, { recursive: true });
    const fit = livecap(['domain', '--model', model, '--pictures', '120', '--heldout', '60', '--components', '8', '--json', join(dir, 'report.json')]);
    const { code } = await fit.exited;
    assert.equal(code, 0, fit.stderr());
    assert.match(fit.stdout(), /thresholds [\d.]+ \(features\), [\d.]+ \(stretched\), [\d.]+ \(joint\)/);
    const detector = JSON.parse(await readFile(join(model, 'domain.json'), 'utf8'));
    assert.equal(detector.joint.featureSize, 2 * detector.features.featureSize);
    assert.equal(detector.joint.weights, 'domain-joint.bin');
    const manifest = JSON.parse(await readFile(join(model, 'captioner.json'), 'utf8'));
    assert.equal(manifest.domain.detector, 'domain.json');
    // An in-domain picture and a flat one.
    const picture = join(dir, 'scene.png');
    await writeFile(picture, encodePng(renderScene(randomScene(new Rng(9), 'single'), 160, 120)));
    const grey = join(dir, 'grey.png');
    await writeFile(grey, encodePng({ width: 160, height: 120, data: new Uint8Array(160 * 120 * 3).fill(128) }));
    const run = livecap(['caption', '--json', '--model', model, picture, grey]);
    assert.equal((await run.exited).code, 0, run.stderr());
    const [scene, flat] = run
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(typeof scene.domainScore, 'number');
    assert.deepEqual([flat.outOfDomain, flat.domainCheck], [true, 'flat']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
