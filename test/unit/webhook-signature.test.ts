/**
 * Webhook signatures against the Standard Webhooks reference library (an implementation nobody
 * here wrote): what livecap signs, it verifies, for a `whsec_` secret and a plain one; a changed
 * body, id or timestamp fails. And the retry waits: doubling, capped, jittered within bounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { signature, signingKey, verify } from '../../src/notify/webhook-signature.js';
import { backoff } from '../../src/notify/webhooks.js';

const body = JSON.stringify({ type: 'alert', timestamp: '2026-11-28T12:00:00.000Z', data: { stream: 'door', seq: 7, text: 'a person at the door' } });

test('signatures verify with the Standard Webhooks library, for whsec_ and plain secrets', () => {
  const now = Math.floor(Date.now() / 1000);
  for (const secret of ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'a plain secret of some length']) {
    const headers = { 'webhook-id': 'door:7', 'webhook-timestamp': String(now), 'webhook-signature': signature(signingKey(secret), 'door:7', now, body) };
    const reference = secret.startsWith('whsec_') ? new Webhook(secret) : new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' });
    assert.deepEqual(reference.verify(body, headers), JSON.parse(body), secret);
    assert.throws(() => reference.verify(body.replace('door', 'yard'), headers), 'a changed body');
    assert.throws(() => reference.verify(body, { ...headers, 'webhook-id': 'door:8' }), 'another id');
    assert.throws(() => reference.verify(body, { ...headers, 'webhook-timestamp': String(now - 1) }), 'another time');
    // And the reference library's signature verifies with livecap's check.
    const theirs = reference.sign('door:7', new Date(now * 1000), body);
    assert.equal(theirs, headers['webhook-signature']);
    assert.equal(verify(signingKey(secret), { id: 'door:7', timestamp: String(now), signature: `v1,bogus ${theirs}` }, body, now), true);
    assert.equal(verify(signingKey(secret), { id: 'door:7', timestamp: String(now - 600), signature: theirs }, body, now), false, 'too old');
  }
});

test('retry waits double from the first, stop at the cap, and are jittered within the second half', () => {
  const timing = { firstRetryMs: 1000, maxRetryMs: 300_000 };
  assert.deepEqual(
    [1, 2, 3, 4, 10, 20].map((n) => backoff(n, timing, () => 1)),
    [1000, 2000, 4000, 8000, 300_000, 300_000],
  );
  assert.deepEqual(
    [1, 2, 3].map((n) => backoff(n, timing, () => 0)),
    [500, 1000, 2000],
  );
  // A receiver down for an hour is probed about once every 2.5-5 minutes, not flooded.
  let waited = 0;
  let probes = 0;
  while (waited < 3_600_000) waited += backoff(++probes, timing);
  assert.ok(probes >= 12 && probes <= 40, `${probes} probes in an hour`);
});
