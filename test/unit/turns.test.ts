/**
 * Long reads take turns of the event loop one at a time: however many wait, each resumes in a
 * turn of its own, so anything else queued for the loop runs between any two of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextTurn } from '../../src/util/turns.js';

test('waiters resume one per turn of the event loop, in the order they asked', async () => {
  // A ticker that counts turns of the loop (one setImmediate per turn).
  let turns = 0;
  let ticking = true;
  const tick = () => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const resumed: [number, number][] = [];
  await Promise.all(
    [0, 1, 2, 3, 4].map(async (i) => {
      await nextTurn();
      resumed.push([i, turns]);
    }),
  );
  ticking = false;
  assert.deepEqual(
    resumed.map(([i]) => i),
    [0, 1, 2, 3, 4],
  );
  const at = resumed.map(([, t]) => t);
  assert.ok(
    at.every((t, k) => k === 0 || t > at[k - 1]!),
    `each in a later turn than the one before: ${at}`,
  );
  // And it goes on working after the queue emptied.
  await nextTurn();
});
