/**
 * Worker thread that encodes keyframe thumbnails (JPEG, as data URLs), so the encoder's table
 * set-up, its work and its garbage stay off the event loop.
 */
import { serveRpc } from '../models/worker/rpc.js';
import { encodeJpeg, type Frame } from './image.js';

serveRpc({
  dataUrl(frame: Frame, quality: number): string {
    return `data:image/jpeg;base64,${encodeJpeg(frame, quality).toString('base64')}`;
  },
});
