/** The event bus: a listener that throws is logged and skipped; the others still get every event. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../src/stream/event-bus.js';
import type { CaptionMessage, StreamMessage } from '../../src/core/events.js';

const caption = (seq: number): CaptionMessage => ({ type: 'caption', stream: 'door', seq, ts: seq, frameTs: seq, text: `caption ${seq}`, latencyMs: 1 });

test('a throwing listener does not keep the event from the listeners after it, nor later events from anyone', () => {
  const bus = new EventBus();
  const before: number[] = [];
  const after: number[] = [];
  let thrown = 0;
  bus.subscribe((m: StreamMessage) => before.push((m as CaptionMessage).seq));
  bus.subscribe(() => {
    thrown++;
    throw new Error('listener bug');
  });
  const unsubscribe = bus.subscribe((m: StreamMessage) => after.push((m as CaptionMessage).seq));
  for (let seq = 1; seq <= 3; seq++) assert.doesNotThrow(() => bus.publish(caption(seq)));
  assert.deepEqual(before, [1, 2, 3]);
  assert.deepEqual(after, [1, 2, 3]);
  assert.equal(thrown, 3);
  unsubscribe();
  bus.publish(caption(4));
  assert.deepEqual(after, [1, 2, 3], 'unsubscribed');
  assert.equal(bus.size, 2);
});
