/** Reconnect delays: doubling to a cap with jitter, and back to the first after a healthy period. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, backoffDelay } from '../../src/ingest/supervised-source.js';

const options = { backoffInitialMs: 1000, backoffMaxMs: 8000, healthyAfterMs: 30_000 };
const middle = () => 0.5;

test('each failure in a row waits twice as long, up to the cap', () => {
  const backoff = new Backoff(options, middle);
  assert.deepEqual(
    Array.from({ length: 6 }, () => backoff.failed()),
    [1000, 2000, 4000, 8000, 8000, 8000],
  );
});

test('the jitter stays within ±20% of the delay', () => {
  assert.equal(
    backoffDelay(3, 1000, 60_000, () => 0),
    3200,
  );
  assert.equal(
    backoffDelay(3, 1000, 60_000, () => 0.999999),
    4800,
  );
});

test('a source live for the healthy period starts again from the first delay; a shorter spell does not', () => {
  const backoff = new Backoff(options, middle);
  backoff.failed();
  backoff.failed();
  // Live again at t = 100 s, for 29.9 s: not yet healthy.
  for (let t = 100_000; t <= 129_900; t += 100) backoff.frame(t);
  assert.equal(backoff.failed(), 4000, 'the third failure in a row');
  // Live from 200 s for 30 s: healthy.
  for (let t = 200_000; t <= 230_000; t += 100) backoff.frame(t);
  assert.equal(backoff.failed(), 1000, 'after a healthy period');
  assert.equal(backoff.failed(), 2000);
});
