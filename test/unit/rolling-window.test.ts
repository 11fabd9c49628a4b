import { test } from 'node:test';
import assert from 'node:assert/strict';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { captionSimilarity, collapseRepeats, rollingWindow } from '../../src/pipeline/operators/rolling-window.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
const CAPTIONS: Record<string, { text: string }> = {
  r: { text: 'a red circle on the grass' },
  R: { text: 'A red circle on the grass.' },
  s: { text: 'a blue star in the sky' },
  t: { text: 'three green triangles on the sand' },
};

test('every hop, the captions of the last window; nothing new means no window', () => {
  const s = scheduler();
  s.run(({ hot, expectObservable, expectSubscriptions }) => {
    // Window 6 frames, hop 3 (1 frame = 1 ms of virtual time).
    const source = hot('r-s-------t----|', CAPTIONS);
    const out = source.pipe(
      rollingWindow({ windowMs: 6, hopMs: 3, scheduler: s }),
      map((w) => `${w.from}-${w.to}:${w.captions.length}`),
    );
    // t=3: r(0), s(2) → 0-3:2. t=6: nothing new. t=9: nothing new (r and s age out at 7 and 9).
    // t=12: t(10) → 10-12:1. Completion at 15: nothing new since 12, so no last window.
    expectObservable(out).toBe('---a--------b--|', { a: '0-3:2', b: '10-12:1' });
    expectSubscriptions(source.subscriptions).toBe('^--------------!');
  });
});

test('repeats and near-repeats are collapsed; a scene that comes back is kept', () => {
  const s = scheduler();
  s.run(({ hot, expectObservable }) => {
    const source = hot('rRRs-r|', CAPTIONS);
    const out = source.pipe(
      rollingWindow({ windowMs: 100, hopMs: 50, scheduler: s }),
      map((w) => w.captions.join(' / ')),
    );
    // Completion cuts a last window at once.
    expectObservable(out).toBe('------(a|)', { a: 'a red circle on the grass / a blue star in the sky / a red circle on the grass' });
  });
});

test('errors pass through, and unsubscribing stops the clock and the source', () => {
  const s = scheduler();
  s.run(({ hot, expectObservable, expectSubscriptions }) => {
    const failing = hot('r--#', CAPTIONS);
    expectObservable(
      failing.pipe(
        rollingWindow({ windowMs: 10, hopMs: 2, scheduler: s }),
        map((w) => w.captions.length),
      ),
    ).toBe('--a#', { a: 1 });
    // At frame 4 the caption t arrives before the cut (hot values were scheduled first): r, s, t.
    const endless = hot('r-s-t-r-s-t-', CAPTIONS);
    expectObservable(
      endless.pipe(
        rollingWindow({ windowMs: 4, hopMs: 4, scheduler: s }),
        map((w) => w.captions.length),
      ),
      '^------!',
    ).toBe('----a---', { a: 3 });
    expectSubscriptions(endless.subscriptions).toBe('^------!');
  });
});

test('a source that never emits gives no windows; empty completes at once', () => {
  const s = scheduler();
  s.run(({ cold, expectObservable }) => {
    expectObservable(cold<{ text: string }>('|').pipe(rollingWindow({ windowMs: 5, hopMs: 1, scheduler: s }))).toBe('|');
    expectObservable(cold<{ text: string }>('-').pipe(rollingWindow({ windowMs: 5, hopMs: 1, scheduler: s })), '^--------!').toBe('---------');
  });
});

test('similarity ignores case, punctuation and small words', () => {
  assert.equal(captionSimilarity('A red circle on the grass.', 'a red circle in the grass'), 1);
  assert.ok(captionSimilarity('a red circle on the grass', 'a blue star in the sky') < 0.2);
  assert.deepEqual(collapseRepeats(['a red circle', ' ', 'the red circle', 'a red square']), ['a red circle', 'a red square']);
  assert.throws(() => rollingWindow({ windowMs: 0, hopMs: 1 }), /window and hop must be positive/);
});
