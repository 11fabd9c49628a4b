/**
 * The stream pipeline's composition in virtual time (marble tests): a source's statuses and
 * frames in, through the real scene gate, latest-wins captioning and status derivation, to the
 * stream's events; the captioner is a function answering with a cold observable. Error, empty,
 * early unsubscribe and re-entrance, and the counters derived from what happened.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { map, of, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { captionStream } from '../../src/pipeline/stream-pipeline.js';
import { newCounters } from '../../src/pipeline/steps.js';
import type { SourceEvent, StatusReport } from '../../src/ingest/supervised-source.js';
import type { RawFrame } from '../../src/ingest/ffmpeg-frames.js';
import type { Caption } from '../../src/core/caption.js';
import type { PipelineEvent } from '../../src/core/events.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

const COLOURS: Record<string, [number, number, number]> = { R: [200, 30, 30], B: [30, 30, 200], G: [30, 200, 30] };
const base = Date.now();
let index = 0;

/** A solid frame of a colour, half a second after the one before. */
function frame(colour: string): SourceEvent {
  const [r, g, b] = COLOURS[colour]!;
  const data = new Uint8Array(32 * 24 * 3);
  for (let i = 0; i < data.length; i += 3) data.set([r, g, b], i);
  const n = index++;
  return { type: 'frame', frame: { index: n, pts: n / 2, capturedAt: base + n * 500, width: 32, height: 24, data } };
}

const status = (report: StatusReport): SourceEvent => ({ type: 'status', report });
const colourOf = (f: RawFrame) => Object.keys(COLOURS).find((c) => f.data[0] === COLOURS[c]![0] && f.data[1] === COLOURS[c]![1])!;
const caption = (text: string, extra: Partial<Caption> = {}): Caption => ({ text, score: -1, ...extra });

/** Events as short strings: `live`, `reconnecting`, `R/start` (a caption and its keyframe's reason). */
const short = (e: PipelineEvent) => (e.type === 'caption' ? `${e.text}/${e.reason}` : e.type === 'status' ? (e.error ? `${e.state}!` : e.state) : `summary:${e.text}`);

/** R R R B B B G G G: the start, then two cuts, each confirmed one frame after it. */
function scene(): Record<string, SourceEvent> {
  index = 0;
  return {
    c: status({ state: 'connecting' }),
    l: status({ state: 'live' }),
    r: frame('R'),
    s: frame('R'),
    t: frame('R'),
    b: frame('B'),
    e: frame('B'),
    f: frame('B'),
    g: frame('G'),
    h: frame('G'),
    i: frame('G'),
  };
}

const options = { thumbnails: false as const, gate: { maxGapSec: 0 } };

test('statuses, keyframes and captions come out in order; the output completes after the last caption', () => {
  const counters = newCounters();
  scheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
    const source = hot('  cl-r-s-t-b-e-f-g-h-i|', scene());
    const answers = cold('--(a|)', { a: caption('x') });
    const captioner = (f: RawFrame) => answers.pipe(map(() => caption(colourOf(f))));
    const out = captionStream(source, captioner, options, counters).pipe(map(short));
    // R starts at 3 (captioned by 5); B's cut is confirmed a frame after it, at 11 (13); G's at 17 (19).
    expectObservable(out).toBe('-l---R-------B-----G|', { l: 'live', R: 'R/start', B: 'B/cut', G: 'G/cut' });
    expectSubscriptions(source.subscriptions).toBe('^-------------------!');
  });
  assert.deepEqual(counters, { frames: 9, keyframes: 3, captions: 3, dropped: 0, reconnects: 0, stalls: 0 });
});

test('a source error ends the stream after what came before it, and the caption in flight is cancelled', () => {
  scheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
    const source = hot('  cl-r-s-t-b-e#', scene(), new Error('the file played to its end'));
    const answers = cold('----(a|)', { a: caption('x') });
    const out = captionStream(source, (f) => answers.pipe(map(() => caption(colourOf(f)))), options).pipe(map(short));
    expectObservable(out).toBe('-l-----R----#', { l: 'live', R: 'R/start' }, new Error('the file played to its end'));
    // R captioned at 3..7; B's cut is confirmed at 11 and its caption cut off by the error at 12.
    expectSubscriptions(answers.subscriptions).toBe(['---^---!', '-----------^!']);
  });
});

test('an empty source, or one that only connects, completes with nothing', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const never = () => cold<Caption>('-');
    expectObservable(captionStream(cold<SourceEvent>('|'), never, options)).toBe('|');
    expectObservable(captionStream(cold('c|', scene()), never, options)).toBe('-|');
  });
});

test('unsubscribing early stops the source and the caption being made', () => {
  scheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
    const source = hot('  cl-r-s-t-b-e-f|', scene());
    const answers = cold('------(a|)', { a: caption('R') });
    const out = captionStream(source, () => answers, options).pipe(map(short));
    expectObservable(out, '^-------!').toBe('-l-------', { l: 'live' });
    expectSubscriptions(source.subscriptions).toBe('^-------!');
    expectSubscriptions(answers.subscriptions).toBe('---^----!');
  });
});

test('a captioner that answers at once (re-entrance): every keyframe captioned in its own frame, none dropped', () => {
  const counters = newCounters();
  scheduler().run(({ hot, expectObservable }) => {
    const source = hot('cl-r-s-t-b-e-f-g-h-i|', scene());
    const out = captionStream(source, (f) => of(caption(colourOf(f))), options, counters).pipe(map(short));
    expectObservable(out).toBe('-l-R-------B-----G--|', { l: 'live', R: 'R/start', B: 'B/cut', G: 'G/cut' });
  });
  assert.deepEqual({ keyframes: counters.keyframes, captions: counters.captions, dropped: counters.dropped }, { keyframes: 3, captions: 3, dropped: 0 });
});

test('keyframes that wait for a slow captioner give way to the newest (counted as dropped); a repeated caption is counted, not sent', () => {
  const counters = newCounters();
  scheduler().run(({ cold, hot, expectObservable }) => {
    // Three cuts in quick succession while the first caption takes 10 frames.
    index = 0;
    const v = { l: status({ state: 'live' }), a: frame('R'), b: frame('B'), c: frame('B'), d: frame('G'), e: frame('G'), f: frame('R'), g: frame('R'), h: frame('R') };
    const source = hot('la-bc-de-fg-h|', v);
    const captioner = (f: RawFrame) => cold('----------(a|)', { a: caption(colourOf(f) === 'G' ? 'R' : colourOf(f)) });
    const out = captionStream(source, captioner, options, counters).pipe(map(short));
    // R (start) 1..11; B's cut (4) and G's (7) are displaced by R's (10), captioned 11..21: the
    // same text as the first caption, so nothing new goes out.
    expectObservable(out).toBe('l----------R---------|', { l: 'live', R: 'R/start' });
  });
  assert.deepEqual({ keyframes: counters.keyframes, captions: counters.captions, dropped: counters.dropped }, { keyframes: 4, captions: 1, dropped: 2 });
});

test('a captioner that misses its deadline puts a note on the live status until it answers again; the note goes out before that caption', () => {
  scheduler().run(({ cold, hot, expectObservable }) => {
    const source = hot('cl-r-s-t-b-e-f----|', scene());
    const stuck = Object.assign(new Error('captioner did not answer within 30 s'), { name: 'ModelTimeoutError' });
    let calls = 0;
    const captioner = (f: RawFrame) => (calls++ === 0 ? throwError(() => stuck) : cold('-(a|)', { a: caption(colourOf(f)) }));
    const out = captionStream(source, captioner, options).pipe(map(short));
    // R's caption fails at 3; B's cut (11) is captioned at 12: the note is cleared, then B goes out.
    expectObservable(out).toBe('-l-L--------(uB)--|', { l: 'live', L: 'live!', u: 'live', B: 'B/cut' });
  });
});

test('the source reconnecting is a status with its error and delay; the counters count it', () => {
  const counters = newCounters();
  const events: PipelineEvent[] = [];
  scheduler().run(({ hot, expectObservable }) => {
    const error = Object.assign(new Error('no frame for 10 s'), { reason: 'stalled' }) as unknown as StatusReport['error'];
    const source = hot('clr-x-l|', { ...scene(), x: status({ state: 'reconnecting', error, retryInMs: 1000 }) });
    const out = captionStream(source, (f) => of(caption(colourOf(f))), options, counters);
    out.subscribe((e) => events.push(e));
    expectObservable(out.pipe(map(short))).toBe('-lR-s-l|', { l: 'live', R: 'R/start', s: 'stalled!' });
  });
  assert.ok(events.some((e) => e.type === 'status' && e.state === 'stalled' && e.retryInMs === 1000 && e.error === 'no frame for 10 s'));
  assert.equal(counters.reconnects, 2, 'one per subscription of the two');
  assert.equal(counters.stalls, 2);
});
