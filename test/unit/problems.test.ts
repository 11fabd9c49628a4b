/** Schema problems as sentences: every one at once, each saying where it is. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { problemsOf } from '../../src/util/problems.js';

const Settings = z.strictObject({
  port: z.number({ error: (iss) => `must be a number, got ${JSON.stringify(iss.input)}` }),
  history: z.strictObject({ days: z.number().positive({ error: 'must be above 0' }) }, { error: (iss) => (iss.code === 'unrecognized_keys' ? 'unknown setting' : undefined) }).optional(),
});

test('each problem is named with its place, unknown fields one by one, all at once', () => {
  const result = Settings.safeParse({ port: 'eighty', history: { days: -1, keep: 1, size: 2 }, colour: 'red' });
  assert.equal(result.success, false);
  assert.deepEqual(problemsOf(result.error!, 'c.json'), [
    'c.json port: must be a number, got "eighty"',
    'c.json history.days: must be above 0',
    'c.json history.keep: unknown setting',
    'c.json history.size: unknown setting',
    'c.json colour: unknown field',
  ]);
});

test('without a place, a message that names its field stands alone and one at the top is as written', () => {
  const Body = z.object({ id: z.string({ error: 'stream id must be a string' }) }, { error: (iss) => (iss.code === 'invalid_type' ? 'body must be an object' : undefined) });
  assert.deepEqual(problemsOf(Body.safeParse({ id: 1 }).error!), ['stream id must be a string']);
  assert.deepEqual(problemsOf(Body.safeParse([1]).error!), ['body must be an object']);
});
