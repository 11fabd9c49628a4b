/**
 * The embedded captioner on pictures far from its synthetic world (ffmpeg's test patterns:
 * fractals, cellular automata, colour bars): a small model loops there ("a red red a red red
 * red"). Its search must not: no word three times in a row, no three words twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptionerClient } from '../../src/models/worker/captioner-client.js';
import { readImage } from '../../src/media/image.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';

const PATTERNS = ['testsrc2', 'mandelbrot', 'life', 'cellauto', 'rgbtestsrc', 'smptehdbars'];

function repeats(text: string): string | undefined {
  const w = text.split(' ');
  for (let i = 2; i < w.length; i++) if (w[i] === w[i - 1] && w[i] === w[i - 2]) return `"${w[i]}" three times in a row`;
  const trigrams = w.slice(2).map((_, i) => w.slice(i, i + 3).join(' '));
  const twice = trigrams.find((t, i) => trigrams.indexOf(t) !== i);
  return twice && `"${twice}" twice`;
}

test('captions of pictures unlike the synthetic world never loop', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-patterns-'));
  const captioner = await CaptionerClient.start(EMBEDDED_CAPTIONER);
  try {
    let loopedWithout = 0;
    for (const pattern of PATTERNS) {
      for (const at of [0, 1, 2]) {
        const file = join(dir, `${pattern}-${at}.png`);
        await promisify(execFile)('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `${pattern}=size=320x240`, '-ss', String(at), '-frames:v', '1', file]);
        const image = await readImage(file);
        for (const beamWidth of [1, 3]) {
          const { text } = await captioner.caption(image, { beamWidth });
          assert.equal(repeats(text), undefined, `${pattern} at ${at} s, beam ${beamWidth}: "${text}"`);
          if (repeats((await captioner.caption(image, { beamWidth, noRepeatNgramSize: 0, maxRepeatRun: 0 })).text)) loopedWithout++;
        }
      }
    }
    // These pictures do make the model loop when nothing stops it: the test above means something.
    assert.ok(loopedWithout > 0, 'some captions loop without repetition control');
  } finally {
    await captioner.close();
    await rm(dir, { recursive: true, force: true });
  }
});
