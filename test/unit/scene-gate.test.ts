/**
 * The scene gate on crafted frame sequences, one per way real footage fooled it: local motion
 * taken for a transition, a hard cut folded into an open transition and reported early, and a
 * doubtful cut hiding a real one behind the minimum scene length.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SceneGate, type GateDecision, type GateFrame } from '../../src/pipeline/scene-gate.js';
import { videoFrames, videoScript, type VideoOptions, type VideoScript } from '../../src/synth/video.js';
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

/** Pushes the frames of a synthetic video script (rendered at 160×120, 10 fps) up to `seconds`; returns the scene changes. */
function runScript(script: VideoScript, seconds = script.duration): GateDecision[] {
  const gate = new SceneGate({ maxGapSec: 0 });
  const out: GateDecision[] = [];
  let k = 0;
  for (const f of videoFrames(script)) {
    if (k / script.fps >= seconds) break;
    const d = gate.push({ width: f.width, height: f.height, data: f.data, pts: k++ / script.fps });
    if (d && (d.reason === 'cut' || d.reason === 'gradual')) out.push(d);
  }
  return out;
}

const cameraVideo = (seed: number, options: VideoOptions) => videoScript(seed, { width: W, height: H, fps: FPS, camera: 1, ...options });

test('a dissolve while the camera pans and zooms is found by its colours, at its time', () => {
  // Sand with one object dissolves into snow with two while both views move and objects sweep:
  // every step of the dissolve changes the picture no more than the camera does.
  const script = cameraVideo(10, { duration: 20, transitions: { cut: 0, fade: 0, dissolve: 1 } });
  const [dissolve] = script.transitions;
  assert.equal(script.scenes[0].scene.background, 'sand');
  assert.equal(script.scenes[1].scene.background, 'snow');
  const cuts = runScript(script, script.scenes[1].end - 0.5);
  assert.equal(cuts.length, 1, `one scene change (got ${cuts.map((c) => `${c.reason}@${c.cutAt.toFixed(2)}`).join(', ') || 'nothing'})`);
  assert.equal(cuts[0].reason, 'gradual');
  assert.ok(Math.abs(cuts[0].cutAt - dissolve.at) <= dissolve.duration / 2 + 0.35, `at ${cuts[0].cutAt.toFixed(2)} s, the dissolve at ${dissolve.at.toFixed(2)} s`);
});

test('a camera that zooms in while large objects sweep in and out of view is not a scene change', () => {
  // The colours of the picture swing back and forth as the objects fill the view and leave it.
  for (const seed of [3, 4, 5]) {
    const script = cameraVideo(seed, { duration: 8, minScene: 10, maxScene: 10 });
    assert.equal(script.scenes.length, 1);
    assert.deepEqual(
      runScript(script).map((c) => `${c.reason}@${c.cutAt.toFixed(1)}`),
      [],
      `seed ${seed}`,
    );
  }
});

test('a fade through black between two night views while the camera moves is found by its blank middle', () => {
  // The colours on either side are the same, and the camera's own changes hide the fade's steps.
  const script = cameraVideo(25, { duration: 12, transitions: { cut: 0, fade: 1, dissolve: 0 } });
  const [fade] = script.transitions;
  assert.equal(script.scenes[0].scene.background, 'night');
  assert.equal(script.scenes[1].scene.background, 'night');
  const cuts = runScript(script, script.scenes[1].end - 0.5);
  assert.deepEqual(
    cuts.map((c) => c.reason),
    ['gradual'],
  );
  assert.ok(Math.abs(cuts[0].cutAt - fade.at) <= fade.duration / 2 + 0.35, `at ${cuts[0].cutAt.toFixed(2)} s, the fade at ${fade.at.toFixed(2)} s`);
});

test('in a still picture, one small shape swapped for another is a cut', () => {
  // A dark view with a small green shape; at 3 s it becomes a small white one and a yellow one
  // beside it: a new scene that changes less than a twentieth of the picture.
  const view = (blocks: { x: number; y: number; rgb: [number, number, number] }[]) => {
    const data = new Uint8Array(W * H * 3).fill(20);
    for (const { x, y, rgb } of blocks) for (let py = y; py < y + 14; py++) for (let px = x; px < x + 14; px++) data.set(rgb, (py * W + px) * 3);
    return data;
  };
  const before = view([{ x: 70, y: 50, rgb: [40, 200, 60] }]);
  const after = view([
    { x: 50, y: 50, rgb: [235, 235, 235] },
    { x: 90, y: 52, rgb: [230, 210, 40] },
  ]);
  assert.deepEqual(
    run([...still(before, 3), ...still(after, 3)]).map((c) => `${c.reason}@${c.cutAt.toFixed(1)}`),
    ['cut@3.0'],
  );
});

test('a dissolve between two views of one backdrop while the camera moves is found by its in-between values', () => {
  // Sky into sky and grass into grass: the colours barely change, the camera's own changes hide
  // the dissolve's steps, and the moving views are no clean blend of the two ends; but half way
  // through, every changed pixel holds a value between its old and its new one.
  for (const [seed, backdrop] of [
    [7, 'sky'],
    [46, 'grass'],
  ] as const) {
    const script = cameraVideo(seed, { duration: 12, transitions: { cut: 0, fade: 0, dissolve: 1 } });
    const [dissolve] = script.transitions;
    assert.equal(script.scenes[0].scene.background, backdrop);
    assert.equal(script.scenes[1].scene.background, backdrop);
    const cuts = runScript(script, script.scenes[1].end - 0.5);
    assert.deepEqual(
      cuts.map((c) => c.reason),
      ['gradual'],
      `seed ${seed}`,
    );
    assert.ok(Math.abs(cuts[0].cutAt - dissolve.at) <= dissolve.duration / 2 + 0.35, `seed ${seed}: at ${cuts[0].cutAt.toFixed(2)} s, the dissolve at ${dissolve.at.toFixed(2)} s`);
  }
});

test('a large object swinging into view while the camera moves is not a transition', () => {
  // In a 16×12 thumbnail an object that slides in fills its cells little by little, as a
  // dissolve would; pixel by pixel it covers the backdrop at once, and holds no in-between values.
  for (const seed of [3, 42]) {
    const script = cameraVideo(seed, { duration: 12, transitions: { cut: 0, fade: 0.5, dissolve: 0.5 } });
    const [first] = script.transitions;
    assert.deepEqual(
      runScript(script, first.at - first.duration / 2).map((c) => `${c.reason}@${c.cutAt.toFixed(1)}`),
      [],
      `seed ${seed}`,
    );
  }
});

test('the step into a fade and the jump out of its black middle are one scene change', () => {
  // The first dimming step stands alone, so it is a cut; the fade then goes through black to the
  // next scene within the minimum scene length, a far larger jump, which must not count again.
  const [a, b] = [picture(21), picture(22)];
  const dim = (p: Uint8Array, f: number) => p.map((v) => Math.round(v * f));
  const fade = [dim(a, 0.92), dim(a, 0.91), dim(a, 0.9), dim(a, 0.89), dim(b, 0.05), dim(b, 0.9)];
  assert.deepEqual(
    run([...still(a, 3), ...fade, ...still(b, 3)]).map((c) => `${c.reason}@${c.cutAt.toFixed(1)}`),
    ['cut@3.0'],
  );
});

test('a fade through black between two nearly alike pictures is a scene change', () => {
  // Three small objects appear on the same view: the ends differ in too little of the picture
  // for a dissolve, but the fade takes the whole picture most of the way to black and back.
  const a = picture(30);
  const b = a.slice();
  for (const [x, y] of [
    [30, 30],
    [70, 50],
    [110, 70],
  ])
    for (let py = y; py < y + 20; py++) for (let px = x; px < x + 20; px++) b.set([240, 240, 40], (py * W + px) * 3);
  const dim = (p: Uint8Array, f: number) => p.map((v) => Math.round(v * f));
  const fade = [dim(a, 0.8), dim(a, 0.45), dim(a, 0.15), dim(b, 0.2), dim(b, 0.5), dim(b, 0.85)];
  const cuts = run([...still(a, 3), ...fade, ...still(b, 3)]);
  assert.deepEqual(
    cuts.map((c) => c.reason),
    ['gradual'],
  );
  assert.ok(Math.abs(cuts[0].cutAt - 3.3) <= 0.35, `at ${cuts[0].cutAt.toFixed(2)} s`);
});
