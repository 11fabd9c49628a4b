/**
 * The webhook outbox on its own (SQLite in memory): a key queued twice is one delivery, the
 * oldest due comes first, a retry waits, a cap gives up the oldest, dead letters are swept after
 * a week and kept at most 10,000 per hook.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { WebhookOutbox } from '../../src/notify/webhook-outbox.js';

test('queue, order, retry, cap and sweep', () => {
  const db = new Database(':memory:');
  const outbox = new WebhookOutbox(db);
  const t0 = 1_000_000;
  for (let i = 1; i <= 5; i++) assert.equal(outbox.add('h', 'target', `s:${i}`, `{"n":${i}}`, t0 + i), true);
  assert.equal(outbox.add('h', 'target', 's:1', '{"n":1}', t0 + 9), false, 'the same key is the same delivery');
  assert.equal(outbox.add('other', 'target', 's:1', '{"n":1}', t0 + 9), true, 'another hook has its own');
  assert.equal(outbox.pending('h'), 5);
  const first = outbox.due('h', t0 + 100)!;
  assert.equal(first.key, 's:1');
  outbox.retry(first.id, t0 + 1000, 'down');
  assert.equal(outbox.due('h', t0 + 100)!.key, 's:2', 'a delivery waiting for its retry is not due');
  assert.equal(outbox.lastError('h'), 'down');
  assert.equal(outbox.nextDue('h'), t0 + 2);
  assert.equal(outbox.cap('h', 3), 2, 'beyond the cap, the oldest are given up');
  assert.equal(outbox.pending('h'), 3);
  assert.deepEqual(
    outbox.deadList('h', 10).map((d) => d.key),
    ['s:2', 's:1'],
  );
  outbox.delivered(outbox.due('h', t0 + 100)!.id);
  assert.equal(outbox.pending('h'), 2);
  outbox.bury(outbox.due('h', t0 + 100)!.id, t0 + 200, 'refused');
  assert.equal(outbox.deadLetters('h'), 3);
  outbox.sweep(['h'], t0 + 200 + 8 * 86_400_000);
  assert.equal(outbox.deadLetters('h'), 0, 'dead letters go after a week');
  assert.equal(outbox.pending('h'), 1);
  db.close();
});
