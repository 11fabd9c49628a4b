import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captionObjects, captionsFor, namesExactObjects } from '../../src/synth/grammar.js';
import { randomScene, type Scene, type SceneKind, type SceneObject } from '../../src/synth/world.js';
import { objectAccuracy } from '../../src/train/evaluate.js';
import { Rng } from '../../src/util/rng.js';

const obj = (colour: SceneObject['colour'], shape: SceneObject['shape']): SceneObject => ({ colour, shape, size: 'small', slot: 'left', x: 0.5, y: 0.5, r: 0.1, angle: 0, vx: 0, vy: 0 });
const scene = (kind: SceneKind, objects: SceneObject[]): Scene => ({ kind, background: 'grass', objects, textureSeed: 1 });

test("captions are read into (colour, shape, count) objects with the grammar's words", () => {
  assert.deepEqual(captionObjects('two red circles and a blue star'), [
    { colour: 'red', shape: 'circle', count: 2 },
    { colour: 'blue', shape: 'star', count: 1 },
  ]);
  assert.deepEqual(captionObjects('a pair of little orange squares'), [{ colour: 'orange', shape: 'square', count: 2 }]);
  assert.deepEqual(captionObjects('a row of three big white crosses'), [{ colour: 'white', shape: 'cross', count: 3 }]);
  assert.deepEqual(captionObjects('three shapes a red circle a blue square and a green star'), [
    { colour: 'red', shape: 'circle', count: 1 },
    { colour: 'blue', shape: 'square', count: 1 },
    { colour: 'green', shape: 'star', count: 1 },
  ]);
  // Half-named objects are kept with the missing part null; a plural with no number has count 0.
  assert.deepEqual(captionObjects('a red on the left and a triangle'), [
    { colour: 'red', shape: null, count: 1 },
    { colour: null, shape: 'triangle', count: 1 },
  ]);
  assert.deepEqual(captionObjects('some purple stars'), [{ colour: 'purple', shape: 'star', count: 0 }]);
  assert.deepEqual(captionObjects('there are three shapes in the sky'), []);
});

test('exact objects: the same (colour, shape) multiset, nothing missing, extra, miscounted or half-named', () => {
  const pair = scene('pair', [obj('red', 'circle'), obj('blue', 'star')]);
  assert.equal(namesExactObjects(pair, 'a small blue star and a small red circle on the grass'), true, 'order does not matter');
  assert.equal(namesExactObjects(pair, 'a red circle and a blue square'), false, 'wrong shape');
  assert.equal(namesExactObjects(pair, 'a red circle on the grass'), false, 'one missing');
  assert.equal(namesExactObjects(pair, 'a red circle a blue star and a red circle'), false, 'one extra');
  assert.equal(namesExactObjects(pair, 'a red circle and a blue'), false, 'half-named');
  const twins = scene('pair', [obj('red', 'circle'), obj('red', 'circle')]);
  assert.equal(namesExactObjects(twins, 'a red circle and a red circle'), true);
  assert.equal(namesExactObjects(twins, 'a red circle'), false);
  const group = scene('group', [obj('green', 'cross'), obj('green', 'cross'), obj('green', 'cross')]);
  assert.equal(namesExactObjects(group, 'three green crosses on the snow'), true);
  assert.equal(namesExactObjects(group, 'a row of three little green crosses'), true);
  assert.equal(namesExactObjects(group, 'two green crosses on the snow'), false, 'miscounted');
  assert.equal(namesExactObjects(group, 'there are three shapes'), false, 'names nothing');
});

test("every caption the grammar writes names exactly its scene's objects", () => {
  const rng = new Rng(11);
  for (let i = 0; i < 400; i++) {
    const s = randomScene(rng);
    for (const caption of captionsFor(s)) {
      assert.equal(namesExactObjects(s, caption), true, `${s.kind}: ${caption}`);
    }
  }
});

test('accuracy is reported per scene kind in a fixed order, and overall', () => {
  const a = scene('single', [obj('red', 'circle')]);
  const b = scene('triple', [obj('red', 'circle'), obj('blue', 'star'), obj('white', 'square')]);
  const r = objectAccuracy([
    { scene: b, caption: 'a red circle a blue star and a white square' },
    { scene: a, caption: 'a red circle' },
    { scene: a, caption: 'a red square' },
  ]);
  assert.deepEqual(Object.keys(r.kinds), ['single', 'triple']);
  assert.deepEqual(r.kinds.single, { scenes: 2, correct: 1, accuracy: 0.5 });
  assert.deepEqual(r.kinds.triple, { scenes: 1, correct: 1, accuracy: 1 });
  assert.deepEqual(r.overall, { scenes: 3, correct: 2, accuracy: 2 / 3 });
});
