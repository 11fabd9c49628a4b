import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { latestWins } from '../../src/pipeline/operators/latest-wins.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

test('idle: each value is worked as it comes', () => {
  scheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
    const source = hot('  -a-----b-----c---|');
    const work = (v: string) => cold(`--(${v.toUpperCase()}|)`);
    expectObservable(source.pipe(latestWins(work))).toBe('---A-----B-----C-|');
    expectSubscriptions(source.subscriptions).toBe('^----------------!');
  });
});

test('busy: only the newest value waits; the displaced ones are dropped and reported', () => {
  const dropped: string[] = [];
  scheduler().run(({ cold, hot, expectObservable }) => {
    const source = hot('-abcd--------e--|');
    const work = (v: string) => cold(`-----(${v.toUpperCase()}|)`);
    // a runs 1..6; b and c are displaced by d; d runs 6..11; e runs 13..18; then complete.
    expectObservable(source.pipe(latestWins(work, (v) => dropped.push(v)))).toBe('------A----D------(E|)');
  });
  assert.deepEqual(dropped, ['b', 'c']);
});

test('completion waits for the pending value; empty completes at once', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const work = (v: string) => cold(`---(${v}|)`);
    expectObservable(cold('ab|').pipe(latestWins(work))).toBe('---a--(b|)');
    expectObservable(cold('|').pipe(latestWins(work))).toBe('|');
    expectObservable(cold('-').pipe(latestWins(work))).toBe('-');
  });
});

test('an error in the work or the source goes downstream', () => {
  scheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('a-b|').pipe(latestWins(() => cold('-#', undefined, new Error('model failed'))))).toBe('-#', undefined, new Error('model failed'));
    expectObservable(cold('a#').pipe(latestWins((v: string) => cold(`---${v}|`)))).toBe('-#');
    expectObservable(
      cold('a').pipe(
        latestWins(() => {
          throw new Error('sync');
        }),
      ),
    ).toBe('#', undefined, new Error('sync'));
  });
});

test('unsubscribing early tears down both the source and the running work', () => {
  scheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
    const source = hot('-a---b---');
    const inner = cold('------x|');
    expectObservable(source.pipe(latestWins(() => inner)), '^---!').toBe('-----');
    expectSubscriptions(source.subscriptions).toBe('^---!');
    expectSubscriptions(inner.subscriptions).toBe('-^--!');
  });
});

test('synchronous work re-entering does not lose or repeat values', () => {
  scheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('abc|').pipe(latestWins((v: string) => cold(`(${v}|)`)))).toBe('abc|');
  });
});
