/**
 * Worker thread that encodes keyframe thumbnails (JPEG, as data URLs), so the encoder's table
 * set-up, its work and its garbage stay off the event loop.
 */
import { serveRpc } from '../util/worker-rpc.js';
import { encodeJpeg } from './image.js';
import type { Frame } from '../core/frame.js';

const handlers = {
  dataUrl(frame: Frame, quality: number): string {
    return `data:image/jpeg;base64,${encodeJpeg(frame, quality).toString('base64')}`;
  },
};

/** What the thumbnail worker serves (checked on the client's side too). */
export type ThumbnailWorkerApi = typeof handlers;

serveRpc(handlers);
