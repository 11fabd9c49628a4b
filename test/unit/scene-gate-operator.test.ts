/**
 * The scene gate as an operator, on its three time-driven paths: a gradual transition found
 * as one keyframe in its middle, heartbeats on a still scene (restarting after a cut), and the
 * minimum scene length; and a gate per subscription.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { from, lastValueFrom, toArray } from 'rxjs';
import { sceneGate } from '../../src/pipeline/operators/scene-gate.js';
import type { SceneGateOptions } from '../../src/pipeline/scene-gate.js';
import { picture, PICTURE } from '../helpers/pictures.js';

const { W, H, FPS } = PICTURE;

/** Frames at 10 fps from a list of pictures, with their times as `pts`. */
const frames = (pictures: Uint8Array[]) => pictures.map((data, k) => ({ width: W, height: H, data, pts: k / FPS }));
const still = (p: Uint8Array, seconds: number) => Array.from({ length: Math.round(seconds * FPS) }, () => p);
const blend = (a: Uint8Array, b: Uint8Array, t: number) => a.map((v, i) => Math.round(v * (1 - t) + b[i]! * t));

/** What the gate keeps: reason @ time (s). */
async function keyframes(pictures: Uint8Array[], options: Partial<SceneGateOptions>): Promise<string[]> {
  const kept = await lastValueFrom(from(frames(pictures)).pipe(sceneGate(options), toArray()));
  return kept.map(({ frame, decision }) => `${decision.reason}@${frame.pts.toFixed(1)}`);
}

test('a dissolve over a second is one gradual keyframe, placed in the middle of the transition', async () => {
  const [a, b] = [picture(1), picture(2)];
  const dissolve = Array.from({ length: 10 }, (_, k) => blend(a, b, (k + 1) / 10));
  const kept = await lastValueFrom(from(frames([...still(a, 2), ...dissolve, ...still(b, 2)])).pipe(sceneGate({ maxGapSec: 0 }), toArray()));
  assert.deepEqual(
    kept.map((k) => k.decision.reason),
    ['start', 'gradual'],
  );
  const { cutAt } = kept[1]!.decision;
  assert.ok(cutAt >= 2.2 && cutAt <= 2.8, `cut placed at ${cutAt} s, in the dissolve (2.0–3.0 s)`);
});

test('a still scene gets a heartbeat keyframe every maxGapSec, counted again from each cut', async () => {
  const [a, b] = [picture(3), picture(4)];
  assert.deepEqual(await keyframes(still(a, 10), { maxGapSec: 3 }), ['start@0.0', 'heartbeat@3.0', 'heartbeat@6.0', 'heartbeat@9.0']);
  // A cut at 4.0 s (confirmed on the next frame): the next heartbeat is 3 s after it, not at 6.
  assert.deepEqual(await keyframes([...still(a, 4), ...still(b, 6)], { maxGapSec: 3 }), ['start@0.0', 'heartbeat@3.0', 'cut@4.1', 'heartbeat@7.1']);
  assert.deepEqual(await keyframes(still(a, 10), { maxGapSec: 0 }), ['start@0.0'], 'no heartbeats when turned off');
});

test('no two cuts closer than the minimum scene length; cuts further apart are both kept', async () => {
  const [a, b, c] = [picture(5), picture(6), picture(7)];
  const close = await keyframes([...still(a, 2), ...still(b, 0.5), ...still(c, 2)], { maxGapSec: 0, minSceneSec: 1 });
  assert.equal(close.filter((k) => k.startsWith('cut')).length, 1, `one cut within a second: ${close}`);
  const apart = await keyframes([...still(a, 2), ...still(b, 1.5), ...still(c, 2)], { maxGapSec: 0, minSceneSec: 1 });
  assert.equal(apart.filter((k) => k.startsWith('cut')).length, 2, `two cuts 1.5 s apart: ${apart}`);
});

test('each subscription has a gate of its own: both start with a start keyframe', async () => {
  const frames$ = from(frames(still(picture(8), 1))).pipe(sceneGate({ maxGapSec: 0 }));
  const [first, second] = await Promise.all([lastValueFrom(frames$.pipe(toArray())), lastValueFrom(frames$.pipe(toArray()))]);
  assert.deepEqual([first.map((k) => k.decision.reason), second.map((k) => k.decision.reason)], [['start'], ['start']]);
});
