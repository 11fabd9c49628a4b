/**
 * Heartbeat keyframes (a static scene re-captioned every `maxGapSec`) come in a phase of each
 * stream's own, so streams started together do not all send one to a shared captioner at the
 * same moment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SceneGate, heartbeatPhase, type SceneGateOptions } from '../../src/pipeline/scene-gate.js';
import { StreamManager } from '../../src/stream/streams.js';
import { waitFor } from '../helpers/processes.js';
import type { RawFrame } from '../../src/ingest/ffmpeg-frames.js';
import type { Frame } from '../../src/core/frame.js';

const still = new Uint8Array(32 * 24 * 3).fill(90);

/** When a gate fed a still picture at 10 fps for `seconds` sends heartbeats. */
function heartbeats(options: Partial<SceneGateOptions>, seconds: number): number[] {
  const gate = new SceneGate(options);
  const at: number[] = [];
  for (let i = 0; i <= seconds * 10; i++) {
    const pts = i / 10;
    if (gate.push({ width: 32, height: 24, data: still, pts })?.reason === 'heartbeat') at.push(Math.round(pts * 10) / 10);
  }
  return at;
}

test('a heartbeat phase moves the first heartbeat earlier, then keeps the period', () => {
  assert.deepEqual(heartbeats({ maxGapSec: 10 }, 35), [10, 20, 30]);
  assert.deepEqual(heartbeats({ maxGapSec: 10, heartbeatPhase: 0.5 }, 35), [5, 15, 25, 35]);
  assert.deepEqual(heartbeats({ maxGapSec: 10, heartbeatPhase: 0.25 }, 35), [7.5, 17.5, 27.5]);
});

test('four streams started together send their heartbeats seconds apart, not at once', () => {
  const all = [0, 1, 2, 3].flatMap((i) => heartbeats({ maxGapSec: 30, heartbeatPhase: heartbeatPhase(i) }, 120)).sort((a, b) => a - b);
  assert.ok(all.length >= 12);
  const closest = Math.min(...all.slice(1).map((t, i) => t - all[i]!));
  assert.ok(closest >= 4, `two heartbeats only ${closest} s apart: ${all.join(', ')}`);
});

test('the phases of any number of streams are spread over the period', () => {
  for (let n = 2; n <= 64; n++) {
    const phases = Array.from({ length: n }, (_, i) => heartbeatPhase(i)).sort((a, b) => a - b);
    const gaps = [...phases.slice(1).map((p, i) => p - phases[i]!), 1 + phases[0]! - phases[n - 1]!];
    assert.ok(Math.min(...gaps) >= 0.25 / n, `${n} streams: smallest gap ${Math.min(...gaps)}`);
    assert.ok(phases.every((p) => p >= 0 && p < 1));
  }
});

test('streams added to a server get their heartbeats in different phases', { timeout: 60_000 }, async () => {
  // One recording captioner per stream; the frame's capture time is what the gate measured.
  const seen = Array.from({ length: 4 }, () => [] as number[]);
  const captioner = (i: number) => ({
    caption: async (frame: Frame) => {
      seen[i]!.push((frame as RawFrame).capturedAt);
      return { text: `caption ${seen[i]!.length}`, score: 0 };
    },
  });
  const manager = new StreamManager(
    { defaultName: 's0', default: captioner(0), named: new Map([1, 2, 3].map((i) => [`s${i}`, captioner(i)])) },
    { rules: {}, pipeline: { output: { width: 64, height: 48, fps: 10 }, gate: { maxGapSec: 4 }, thumbnails: false } },
    () => {},
  );
  try {
    // A still picture: after the start keyframe, only heartbeats.
    for (let i = 0; i < 4; i++) manager.add(`s${i}`, 'testsrc://smptebars', `s${i}`);
    await waitFor('a heartbeat from every stream', () => seen.every((s) => s.length >= 2), 30_000);
    seen.forEach((times, i) => {
      const offset = (times[1]! - times[0]!) / 1000;
      const expected = 4 * (1 - heartbeatPhase(i));
      // Never early; late by at most the wait for the next frame.
      assert.ok(offset >= expected - 0.01 && offset < expected + 1, `stream ${i}: first heartbeat ${offset.toFixed(2)} s after the start, expected ${expected.toFixed(2)} s`);
    });
  } finally {
    await manager.close();
  }
});
