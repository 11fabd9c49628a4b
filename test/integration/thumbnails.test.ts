/**
 * Keyframe thumbnails are made in a worker thread (not on the event loop), and a stream's
 * captions carry the thumbnail of their own keyframe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threadId } from 'node:worker_threads';
import { firstValueFrom, filter } from 'rxjs';
import { Thumbnailer } from '../../src/media/thumbnails.js';
import { decodeImage } from '../../src/media/image.js';
import { streamPipeline } from '../../src/pipeline/stream-pipeline.js';
import { parseSource } from '../../src/ingest/source.js';
import { WorkerRpc } from '../../src/util/worker-rpc.js';
import type { CaptionEvent } from '../../src/core/events.js';
import type { StuckWorkerApi } from '../helpers/stuck-worker.js';

const dataOf = (url: string) => decodeImage(Buffer.from(url.replace(/^data:image\/jpeg;base64,/, ''), 'base64'));

test('a thumbnail is a JPEG of the frame, made in another thread; the caller keeps its frame', async () => {
  const thumbnails = new Thumbnailer();
  try {
    assert.notEqual(thumbnails.threadId, threadId);
    const frame = { width: 32, height: 24, data: new Uint8Array(32 * 24 * 3).fill(200) };
    const url = await thumbnails.dataUrl(frame);
    assert.match(url, /^data:image\/jpeg;base64,/);
    const back = dataOf(url);
    assert.equal(back.width, 32);
    assert.equal(back.height, 24);
    assert.ok(Math.abs(back.data[0]! - 200) <= 3);
    assert.equal(frame.data.length, 32 * 24 * 3, 'not transferred away');
    assert.equal(thumbnails.made, 1);
  } finally {
    await thumbnails.close();
    await thumbnails.close();
  }
});

test('a stream given a thumbnailer sends captions with the thumbnail of their keyframe, made by it', { timeout: 60_000 }, async () => {
  const thumbnails = new Thumbnailer();
  const rpc = new WorkerRpc<StuckWorkerApi>(new URL('../helpers/stuck-worker.js', import.meta.url), 'captioner thumbnails-test', { counters: new SharedArrayBuffer(8) });
  const captioner = { caption: (f: { width: number; height: number }) => rpc.call('caption', [{ width: f.width, height: f.height }]) };
  try {
    const events = streamPipeline(parseSource('testsrc://smptebars', {}), captioner, { output: { width: 160, height: 120, fps: 5 }, thumbnail: (f) => thumbnails.dataUrl(f) });
    const caption = (await firstValueFrom(events.pipe(filter((e): e is CaptionEvent => e.type === 'caption')))) as CaptionEvent;
    assert.equal(caption.text, 'a frame of 160x120');
    const image = dataOf(caption.keyframe!);
    assert.deepEqual([image.width, image.height], [160, 120]);
    // SMPTE bars: the left bar is light grey, the middle of the bottom row dark.
    assert.ok(image.data[(10 * 160 + 5) * 3]! > 150);
    assert.equal(thumbnails.made, 1);
  } finally {
    await thumbnails.close();
    await rpc.close();
  }
});

test('a frame asked for twice at one quality (thumbnail and model-server request) is encoded once', async () => {
  const thumbnails = new Thumbnailer();
  try {
    const frame = { width: 16, height: 8, data: new Uint8Array(16 * 8 * 3).fill(200) };
    const [a, b] = await Promise.all([thumbnails.dataUrl(frame), thumbnails.dataUrl(frame)]);
    assert.equal(a, b);
    assert.equal(thumbnails.made, 1);
    await thumbnails.dataUrl(frame, 50);
    await thumbnails.dataUrl({ ...frame, data: frame.data.slice() });
    assert.equal(thumbnails.made, 3, 'another quality or another frame is encoded anew');
  } finally {
    await thumbnails.close();
  }
});
