/**
 * How workers share streams: fair shares, rendezvous ranking (workers prefer different streams),
 * capacity, streams that starve, and shedding one stream at a time towards an even spread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fairShare, rankFor, streamsToTake, streamToShed } from '../../src/cluster/assignment.js';

const streams = Array.from({ length: 12 }, (_, k) => `cam-${k}`);

test('a fair share spreads streams evenly and never exceeds capacity', () => {
  assert.equal(fairShare(6, 3, 10), 2);
  assert.equal(fairShare(7, 3, 10), 3);
  assert.equal(fairShare(7, 3, 2), 2);
  assert.equal(fairShare(0, 3, 2), 0);
  assert.equal(fairShare(5, 0, 4), 4, 'no live worker known yet: this one counts');
});

test('rendezvous ranking is stable and differs from node to node', () => {
  assert.deepEqual(rankFor('a', streams), rankFor('a', [...streams].reverse()));
  const firstChoices = new Set(['a', 'b', 'c', 'd'].map((n) => rankFor(n, streams)[0]));
  assert.ok(firstChoices.size >= 3, `four nodes mostly want different streams first (${[...firstChoices]})`);
});

test('three workers starting together over twelve free streams take four each, mostly different ones', () => {
  const picks = ['a', 'b', 'c'].map((node) => streamsToTake({ node, capacity: 10, streams, owners: new Map(), workers: 3, maxPerTick: 10 }));
  assert.deepEqual(
    picks.map((p) => p.length),
    [4, 4, 4],
  );
  const distinct = new Set(picks.flat());
  assert.ok(distinct.size >= 8, `wanted mostly different streams (${distinct.size} of 12)`);
});

test('a worker takes what it has room for, and starving streams beyond its share', () => {
  const owners = new Map(streams.slice(0, 8).map((s, k) => [s, k < 2 ? 'a' : 'b']));
  // 12 streams, 2 workers: share 6; a has 2, room for 4 more.
  assert.equal(streamsToTake({ node: 'a', capacity: 10, streams, owners, workers: 2, maxPerTick: 10 }).length, 4);
  // b has 6 (its share): nothing more, unless a stream starves and b has capacity.
  assert.deepEqual(streamsToTake({ node: 'b', capacity: 10, streams, owners, workers: 2 }), []);
  assert.deepEqual(streamsToTake({ node: 'b', capacity: 10, streams, owners, workers: 2, starving: new Set(['cam-9']) }), ['cam-9']);
  assert.deepEqual(streamsToTake({ node: 'b', capacity: 6, streams, owners, workers: 2, starving: new Set(['cam-9']) }), [], 'not beyond capacity');
  assert.deepEqual(streamsToTake({ node: 'a', capacity: 10, streams, owners, workers: 2, skip: new Set(streams.slice(8)) }), [], 'nor streams it must skip');
});

test('a worker sheds one stream at a time while another runs two fewer', () => {
  const owners = new Map(streams.slice(0, 4).map((s) => [s, 'a']));
  const view = { node: 'a', capacity: 10, streams: streams.slice(0, 4), owners, workers: 2 };
  const shed = streamToShed({
    ...view,
    loads: new Map([
      ['a', 4],
      ['b', 0],
    ]),
  });
  assert.equal(shed, rankFor('a', streams.slice(0, 4)).at(-1), 'the one it ranks lowest');
  owners.delete(shed!);
  owners.set(shed!, 'b');
  assert.ok(
    streamToShed({
      ...view,
      loads: new Map([
        ['a', 3],
        ['b', 1],
      ]),
    }),
    '3 against 1: one more',
  );
  owners.set(rankFor('a', streams.slice(0, 4)).at(-2)!, 'b');
  assert.equal(
    streamToShed({
      ...view,
      loads: new Map([
        ['a', 2],
        ['b', 2],
      ]),
    }),
    undefined,
    'even',
  );
  // 5 streams over 2 workers: 3 and 2 is as even as it gets.
  const five = streams.slice(0, 5);
  assert.equal(
    streamToShed({
      node: 'a',
      capacity: 10,
      streams: five,
      owners: new Map(five.slice(0, 3).map((s) => [s, 'a'])),
      workers: 2,
      loads: new Map([
        ['a', 3],
        ['b', 2],
      ]),
    }),
    undefined,
  );
});
