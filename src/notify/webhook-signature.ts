/**
 * How a webhook delivery is signed: the Standard Webhooks scheme (standardwebhooks.com), so a
 * receiver can verify it with that project's libraries or a few lines of its own:
 *
 *   webhook-id:        the idempotency key (the same on every retry of one delivery)
 *   webhook-timestamp: Unix seconds when this attempt was sent
 *   webhook-signature: v1,BASE64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`))
 *
 * The key is the secret's bytes: a `whsec_…` secret (the form Standard Webhooks' tools make) is
 * base64 after its prefix; any other secret is used as its UTF-8 text. docs/protocol.md shows a
 * receiver that verifies it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The HMAC key of a webhook secret. */
export function signingKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
}

/** The `webhook-signature` header's value for one attempt. */
export function signature(key: Buffer, id: string, timestampS: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampS}.${body}`).digest('base64')}`;
}

/**
 * Whether a delivery's signature header holds a valid signature (one of its space-separated
 * `v1,…` entries) and its timestamp is within `toleranceS` of now: what a receiver checks.
 */
export function verify(key: Buffer, headers: { id: string; timestamp: string; signature: string }, body: string, nowS = Date.now() / 1000, toleranceS = 300): boolean {
  const ts = Number(headers.timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowS - ts) > toleranceS) return false;
  const expected = Buffer.from(signature(key, headers.id, ts, body));
  return headers.signature.split(' ').some((given) => {
    const candidate = Buffer.from(given);
    return candidate.length === expected.length && timingSafeEqual(candidate, expected);
  });
}
