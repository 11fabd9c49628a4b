/**
 * The scene gate on crafted frame sequences, one per way real footage fooled it: local motion
 * taken for a transition, a hard cut folded into an open transition and reported early, and a
 * doubtful cut hiding a real one behind the minimum scene length.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SceneGate, type GateDecision, type GateFrame } from '../../src/pipeline/scene-gate.js';
import { picture, PICTURE } from '../helpers/pictures.js';

const { W, H, FPS } = PICTURE;

/** `base` with a skin-coloured block (a hand) of w×h pixels at (x, y). */
function withHand(base: Uint8Array, x: number, y: number, w = 50, h = 45): Uint8Array {
  const data = base.slice();
  for (let py = Math.max(0, y); py < Math.min(H, y + h); py++)
    for (let px = Math.max(0, x); px < Math.min(W, x + w); px++) {
      const i = (py * W + px) * 3;
      data[i] = 225;
      data[i + 1] = 185;
      data[i + 2] = 160;
    }
  return data;
}

/** Pushes `pictures` at 10 fps (plus a little camera noise) and returns the cuts the gate reports. */
function run(pictures: Uint8Array[]): GateDecision[] {
  const gate = new SceneGate({ maxGapSec: 0 });
  let noise = 12345;
  const out: GateDecision[] = [];
  pictures.forEach((p, k) => {
    const data = p.slice();
    for (let i = 0; i < data.length; i++) {
      noise = (Math.imul(noise, 1103515245) + 12345) >>> 0;
      data[i] = Math.max(0, Math.min(255, data[i] + ((noise >>> 16) % 5) - 2));
    }
    const frame: GateFrame = { width: W, height: H, data, pts: k / FPS };
    const d = gate.push(frame);
    if (d && (d.reason === 'cut' || d.reason === 'gradual')) out.push(d);
  });
  return out;
}

const still = (p: Uint8Array, seconds: number) => Array.from({ length: Math.round(seconds * FPS) }, () => p);

/** A hand that comes in from the right, waves left and right for a while, and leaves. */
function waving(base: Uint8Array, seconds: number, phase = 0): Uint8Array[] {
  return Array.from({ length: Math.round(seconds * FPS) }, (_, k) => {
    const x = 70 + Math.round(40 * Math.sin(phase + (2 * Math.PI * k) / 12));
    const y = 40 + Math.round(15 * Math.sin((2 * Math.PI * k) / 7));
    return withHand(base, x, y);
  });
}

test('a hand waving in front of a still camera is not a scene change', () => {
  const scene = picture(1);
  const cuts = run([...still(scene, 3), ...waving(scene, 8), ...still(scene, 3)]);
  assert.deepEqual(
    cuts.map((c) => `${c.reason}@${c.cutAt.toFixed(1)}`),
    [],
  );
});

test('a hard cut while something moves is a cut at its own time, not part of a gradual transition', () => {
  const a = picture(2);
  const b = picture(3);
  // The hand starts to move at 3 s, which opens a possible transition; the cut comes at 3.4 s.
  const frames = [...still(a, 3), ...waving(a, 0.4), ...still(b, 4)];
  const cuts = run(frames);
  assert.deepEqual(
    cuts.map((c) => `${c.reason}@${c.cutAt.toFixed(1)}`),
    ['cut@3.4'],
  );
});

test('a doubtful change does not hide a real cut that follows within the minimum scene length', () => {
  const a = picture(4);
  const b = picture(5);
  // A hand jumps into view at 3 s and stays still; the real cut comes 0.7 s later.
  const frames = [...still(a, 3), ...still(withHand(a, 100, 60), 0.7), ...still(b, 4)];
  const cuts = run(frames);
  assert.ok(
    cuts.some((c) => c.reason === 'cut' && Math.abs(c.cutAt - 3.7) < 0.05),
    `the cut at 3.7 s is reported (got ${cuts.map((c) => `${c.reason}@${c.cutAt.toFixed(2)}`).join(', ') || 'nothing'})`,
  );
});

test('fades and dissolves between pictures are still gradual transitions', () => {
  const a = picture(6);
  const b = picture(7);
  const c = picture(8);
  const blend = (p: Uint8Array, q: Uint8Array, t: number) => p.map((v, i) => Math.round(v + (q[i] - v) * t));
  const black = new Uint8Array(W * H * 3);
  const dissolve = Array.from({ length: 8 }, (_, k) => blend(a, b, (k + 1) / 9));
  const fade = [...Array.from({ length: 4 }, (_, k) => blend(b, black, (k + 1) / 5)), ...Array.from({ length: 4 }, (_, k) => blend(black, c, (k + 1) / 5))];
  const cuts = run([...still(a, 3), ...dissolve, ...still(b, 3), ...fade, ...still(c, 3)]);
  assert.deepEqual(
    cuts.map((d) => d.reason),
    ['gradual', 'gradual'],
  );
  assert.ok(Math.abs(cuts[0].cutAt - 3.4) <= 0.3, `dissolve at ${cuts[0].cutAt}`);
  assert.ok(Math.abs(cuts[1].cutAt - 6.8 - 0.4) <= 0.5, `fade at ${cuts[1].cutAt}`);
});

test('the rest of a transition after a cut found inside it does not hide the next scene’s cut', () => {
  const [a, b, flash, d] = [picture(9), picture(10), picture(11), picture(13)];
  // A cut at 3 s whose transition is not over: the picture jumps away and back once more within
  // the minimum scene length (as a dissolve under a zoom did through H.264 and frame-rate
  // conversion). The new scene then holds, and a plain hard cut follows at 5.5 s.
  const tail = [b, b, flash, flash, b];
  const cuts = run([...still(a, 3), ...tail, ...still(b, 2), ...still(d, 3)]);
  assert.deepEqual(
    cuts.map((x) => `${x.reason}@${x.cutAt.toFixed(1)}`),
    ['cut@3.0', 'cut@5.5'],
  );
});
