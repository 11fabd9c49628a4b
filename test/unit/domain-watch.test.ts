/** When a stream counts as mostly out of domain, and when it stops: once each way, not flapping. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainWatch, outOfDomainNote } from '../../src/pipeline/domain-watch.js';

test('three keyframes, more than half out of domain, enter; at most 2 of the last 10, leave; nothing in between', () => {
  const w = new DomainWatch();
  assert.equal(w.push(true), undefined);
  assert.equal(w.push(true), undefined, 'two are too few to tell');
  assert.deepEqual(w.push(false), { entered: true, outOfDomain: 2, seen: 3 });
  assert.equal(w.outOfDomain, true);
  // Recovering slowly: no change until at most 2 of the last 10 are out of domain.
  const changes = Array.from({ length: 7 }, () => w.push(false));
  assert.deepEqual(changes.slice(0, 6), [undefined, undefined, undefined, undefined, undefined, undefined]);
  assert.deepEqual(changes[6], { entered: false, outOfDomain: 2, seen: 10 });
  assert.equal(w.outOfDomain, false);
  // One odd frame among in-domain ones changes nothing.
  assert.equal(w.push(true), undefined);
});

test('captions from a captioner that cannot tell are not counted', () => {
  const w = new DomainWatch();
  for (let i = 0; i < 20; i++) assert.equal(w.push(undefined), undefined);
  assert.equal(w.outOfDomain, false);
});

test('the note names the captioner, the count and both ways to a real model', () => {
  const note = outOfDomainNote('embedded', { outOfDomain: 9, seen: 10 });
  assert.match(note, /^the captioner 'embedded' does not recognise this stream's scenes \(9 of its last 10 keyframes/);
  assert.match(note, /livecap models pull OWNER\/NAME.*--captioner STREAM=onnx:DIR.*--captioner STREAM=openai:MODEL@URL/);
});
