/**
 * Viewers that drop and come back with `since`, over many cycles while captions flow: what
 * they receive, put together, is every event exactly once: zero gaps, zero duplicates.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { Rng } from '../../src/util/rng.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { waitFor } from '../helpers/processes.js';
import { visit } from '../helpers/ws-visit.js';

const CYCLES = Number(process.env.LIVECAP_RESUME_CYCLES ?? 40);
let ts: TestServer;
let media: string;

before(async () => {
  media = await mkdtemp(join(tmpdir(), 'livecap-resume-'));
  // Scenes of under a second: captions every few hundred milliseconds.
  await writeVideo(videoScript(123, { duration: 12, minScene: 0.5, maxScene: 0.9, width: 160, height: 120, fps: 10 }), join(media, 'fast.mp4'));
  ts = await startTestServer({ mediaDir: media });
  ts.server.manager!.add('fast', 'fast.mp4');
  await waitFor('captions flowing', () => ts.events.filter((m) => m.type === 'caption').length >= 3, 60_000);
});
after(async () => {
  await ts.close();
  await rm(media, { recursive: true, force: true });
});

test(`${CYCLES} drop-and-resume cycles while captions flow: every event once, no gap`, async () => {
  const rng = new Rng(7);
  const received: number[] = [];
  let last = 0;
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const seqs = await visit(ts.server.url, 'fast', last, rng.int(50, 600), rng.chance(0.5));
    received.push(...seqs);
    if (seqs.length) last = Math.max(last, ...seqs);
    // Away for a moment: events go on without this viewer.
    await new Promise((r) => setTimeout(r, rng.int(0, 400)));
  }
  assert.ok(!received.includes(-1), 'no gap message: history reaches back');
  assert.ok(last > 10, `events flowed during the test (last seq ${last})`);
  assert.deepEqual(
    received,
    Array.from({ length: last }, (_, i) => i + 1),
    'every seq from 1 once, in order',
  );
});
