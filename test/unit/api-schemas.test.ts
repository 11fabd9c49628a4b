/**
 * The HTTP API's request schemas as the routes use them: what a bad request hears (every bad
 * field, each named once), and what a good one becomes (numbers, defaults, caps).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { z } from 'zod';
import { CaptionsQuery, EventsHeaders, SearchQuery, StreamRequest } from '../../src/stream/api-schemas.js';
import { problemsOf } from '../../src/util/problems.js';

const problems = (schema: z.ZodType, input: unknown) => {
  const result = schema.safeParse(input);
  assert.equal(result.success, false, JSON.stringify(input));
  return problemsOf(result.error!);
};

test('a stream request hears of every bad field at once, and a null prompt is no prompt', () => {
  assert.deepEqual(problems(StreamRequest, { id: '-x', url: ['a'], captioner: 1, prompt: 'a\u0007b' }), [
    `stream id must be 1-64 letters, digits, '-' or '_', starting with a letter or digit; got "-x"`,
    'stream url must be a string; got ["a"]',
    'captioner must be the name of a captioner the server loaded; got 1',
    'prompt must not contain control characters (line breaks and tabs are fine)',
  ]);
  assert.deepEqual(problems(StreamRequest, 'cam1'), ['request body must be a JSON object with id and url, like {"id": "cam1", "url": "rtsp://…"}']);
  assert.deepEqual(StreamRequest.parse({ id: 'cam1', url: 'rtsp://h/s', prompt: null }), { id: 'cam1', url: 'rtsp://h/s', prompt: undefined });
});

test('query numbers: defaults, caps, and what is wrong with each', () => {
  assert.deepEqual(CaptionsQuery.parse({}), { since: 0, limit: 100 });
  assert.deepEqual(CaptionsQuery.parse({ since: '12', limit: '5000' }), { since: 12, limit: 1000 });
  assert.deepEqual(problems(CaptionsQuery, { since: '1e400', limit: '-1' }), ["since must be a whole number ≥ 0, got '1e400'", "limit must be a whole number ≥ 0, got '-1'"]);
});

test('a parameter given twice says so, and a header is named once whatever its case', () => {
  assert.deepEqual(problems(SearchQuery, { q: ['red', 'car'], limit: ['1', '2'] }), ['q is given more than once', 'limit is given more than once']);
  assert.deepEqual(problems(SearchQuery, {}), ['q is required: the words to look for, e.g. /api/search?q=red+circle']);
  assert.deepEqual(problems(EventsHeaders, { 'last-event-id': 'abc' }), ["Last-Event-ID must be a whole number ≥ 0, got 'abc'"]);
});
