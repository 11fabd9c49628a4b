/**
 * Keyframe thumbnails made in a worker thread of their own: a JPEG encode in JavaScript takes
 * milliseconds to tens of milliseconds and makes garbage, which on the event loop would hold
 * up every viewer. One `Thumbnailer` serves every stream of a server; it is shared, not per
 * stream, because encodes are short and rare (one per caption). A frame asked for twice at the
 * same quality (the keyframe's thumbnail and the JPEG a model server is sent) is encoded once.
 *
 *   const thumbnails = new Thumbnailer();
 *   const url = await thumbnails.dataUrl(frame);   // 'data:image/jpeg;base64,…'
 *   await thumbnails.close();
 */
import { WorkerRpc } from '../util/worker-rpc.js';
import type { Frame } from '../core/frame.js';
import type { ThumbnailWorkerApi } from './thumbnail-worker.js';

export class Thumbnailer {
  /** Started with the first thumbnail, so a server that makes none runs no worker. */
  private rpc: WorkerRpc<ThumbnailWorkerApi> | undefined;
  private closed = false;
  /** Thumbnails made so far. */
  made = 0;
  /** The last encode of each frame still held by someone, by quality. */
  private readonly recent = new WeakMap<Frame, { quality: number; url: Promise<string> }>();

  private worker(): WorkerRpc<ThumbnailWorkerApi> {
    if (this.closed) throw new Error('thumbnails worker was closed');
    return (this.rpc ??= new WorkerRpc<ThumbnailWorkerApi>(new URL('./thumbnail-worker.js', import.meta.url), 'thumbnails', undefined, { timeoutMs: 10_000 }));
  }

  /** The frame as a JPEG data URL; the caller keeps its frame (a copy is sent). */
  dataUrl(frame: Frame, quality = 80): Promise<string> {
    const seen = this.recent.get(frame);
    if (seen?.quality === quality) return seen.url;
    const url = this.encode(frame, quality);
    this.recent.set(frame, { quality, url });
    return url;
  }

  private async encode(frame: Frame, quality: number): Promise<string> {
    const data = new Uint8Array(frame.data);
    const url = await this.worker().call('dataUrl', [{ width: frame.width, height: frame.height, data }, quality], [data.buffer]);
    this.made++;
    return url;
  }

  /** The worker's thread id, for tests and logs (starts the worker). */
  get threadId(): number {
    return this.worker().threadId;
  }

  /** Stops the worker. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    await this.rpc?.close();
  }
}
