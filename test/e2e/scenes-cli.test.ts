import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { PROJECT_ROOT } from '../../src/paths.js';

const run = promisify(execFile);
const CLI = join(PROJECT_ROOT, 'bin', 'livecap.js');

test('livecap scenes --json finds the hard cuts of a clip with known cuts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-scenes-'));
  try {
    const video = join(dir, 'cuts.mp4');
    const truth = await writeVideo(videoScript(1003, { duration: 30, transitions: { cut: 1, fade: 0, dissolve: 0 } }), video);
    const { stdout } = await run(process.execPath, [CLI, 'scenes', video, '--json']);
    const { cuts } = JSON.parse(stdout) as { cuts: { time: number; kind: string }[] };
    assert.equal(cuts.length, truth.cuts.length, `found ${cuts.map((c) => c.time)} expected ${truth.cuts.map((c) => c.at.toFixed(2))}`);
    cuts.forEach((c, i) => assert.ok(Math.abs(c.time - truth.cuts[i].at) <= 0.35, `cut ${i}: ${c.time} vs ${truth.cuts[i].at}`));
    const plain = await run(process.execPath, [CLI, 'scenes', video]);
    assert.deepEqual(
      plain.stdout.trim().split('\n').map(Number),
      cuts.map((c) => Number(c.time.toFixed(2))),
    );
    await writeFile(join(dir, 'notes.txt'), 'not a video');
    await assert.rejects(run(process.execPath, [CLI, 'scenes', join(dir, 'notes.txt')]), (err: { code: number; stderr: string }) => err.code === 1 && /notes\.txt: not a video/.test(err.stderr));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
