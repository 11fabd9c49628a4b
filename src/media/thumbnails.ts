/**
 * Keyframe thumbnails made in a worker thread of their own: a JPEG encode in JavaScript takes
 * milliseconds to tens of milliseconds and makes garbage, which on the event loop would hold
 * up every viewer. One `Thumbnailer` serves every stream of a server; it is shared, not per
 * stream, because encodes are short and rare (one per caption).
 *
 *   const thumbnails = new Thumbnailer();
 *   const url = await thumbnails.dataUrl(frame);   // 'data:image/jpeg;base64,…'
 *   await thumbnails.close();
 */
import { WorkerRpc } from '../models/worker/rpc.js';
import type { Frame } from './image.js';

export class Thumbnailer {
  private readonly rpc = new WorkerRpc(new URL('./thumbnail-worker.js', import.meta.url), 'thumbnails', undefined, { timeoutMs: 10_000 });
  /** Thumbnails made so far. */
  made = 0;

  /** The frame as a JPEG data URL; the caller keeps its frame (a copy is sent). */
  async dataUrl(frame: Frame, quality = 80): Promise<string> {
    const data = new Uint8Array(frame.data);
    const url = await this.rpc.call<string>('dataUrl', [{ width: frame.width, height: frame.height, data }, quality], [data.buffer]);
    this.made++;
    return url;
  }

  /** The worker's thread id, for tests and logs. */
  get threadId(): number {
    return this.rpc.threadId;
  }

  /** Stops the worker. Safe to call twice. */
  close(): Promise<void> {
    return this.rpc.close();
  }
}
