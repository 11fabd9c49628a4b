/** Stream creation is rate limited per client: a burst, then a steady rate, then 429 with Retry-After. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from '../../src/stream/rate-limit.js';
import { startServer } from '../../src/stream/server.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';

test('a token bucket: the burst at once, then the rate, per client', () => {
  let now = 0;
  const limiter = new RateLimiter({ perMinute: 6, burst: 2, now: () => now });
  assert.deepEqual([limiter.take('a'), limiter.take('a')], [0, 0]);
  assert.equal(limiter.take('a'), 10, 'one token comes back every 10 s');
  assert.equal(limiter.take('b'), 0, 'another client has its own bucket');
  now = 9_000;
  assert.equal(limiter.take('a'), 1);
  now = 10_000;
  assert.equal(limiter.take('a'), 0);
  now = 1_000_000;
  assert.deepEqual([limiter.take('a'), limiter.take('a'), limiter.take('a') > 0], [0, 0, true], 'never more than the burst saved up');
});

test('the server answers 429 with Retry-After once a client has created too many streams', async () => {
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    captioner: await acquireCaptioner(EMBEDDED_CAPTIONER),
    streamCreation: { perMinute: 1, burst: 2 },
    pipeline: { output: { width: 160, height: 120, fps: 5 } },
  });
  try {
    const post = (id: string) => fetch(`${server.url}/api/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, url: 'testsrc://smptebars' }) });
    assert.equal((await post('one')).status, 201);
    assert.equal((await post('bad id!')).status, 400, 'a refused request does not count');
    assert.equal((await post('two')).status, 201);
    const third = await post('three');
    assert.equal(third.status, 429);
    assert.ok(Number(third.headers.get('retry-after')) > 0);
    assert.match((await third.json()).error, /too many streams created from this address; try again in \d+ s/);
    assert.equal(server.streams.has('three'), false);
    assert.equal((await fetch(`${server.url}/api/streams`)).status, 200, 'reading is not limited');
  } finally {
    await server.close();
    await releaseCaptioner(EMBEDDED_CAPTIONER);
  }
});
