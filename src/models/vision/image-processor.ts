/**
 * Image preprocessing as a Hugging Face `preprocessor_config.json` describes it (ViT, DeiT,
 * BEiT, CLIP image processors): resize, optional centre crop, rescale, normalise, and
 * channels-first float pixels `[1, 3, H, W]` for an ONNX vision encoder's `pixel_values`.
 *
 *   size            224 | {height, width} | {shortest_edge}    the resize target
 *   do_center_crop  crop_size {height, width} after the resize
 *   rescale_factor  1/255 by default; image_mean / image_std per channel
 * Resizing uses an area filter (exact averaging when shrinking, as antialiased resampling does),
 * whatever `resample` asks, so values differ from PIL's by a little at edges.
 */
import { resizeFrame } from '../../media/image.js';
import type { Frame } from '../../core/frame.js';

export interface ImageProcessor {
  width: number;
  height: number;
  toPixelValues(frame: Frame): Float32Array;
}

type Size = number | { height?: number; width?: number; shortest_edge?: number };

function positive(value: unknown, field: string, where: string): number {
  if (typeof value !== 'number' || !(value > 0)) throw new Error(`${where}: ${field} must be a positive number, got ${JSON.stringify(value)}`);
  return value;
}

function triple(value: unknown, fallback: readonly number[], field: string, where: string): number[] {
  if (value === undefined) return [...fallback];
  const list = typeof value === 'number' ? [value, value, value] : value;
  if (!Array.isArray(list) || list.length !== 3 || !list.every((v) => typeof v === 'number')) {
    throw new Error(`${where}: ${field} must be three numbers (one per colour channel), got ${JSON.stringify(value)}`);
  }
  return list as number[];
}

/** Target height and width for a frame of the given size. */
function resizeTarget(size: Size, frame: { width: number; height: number }, where: string): { width: number; height: number } {
  if (typeof size === 'number') return { width: positive(size, 'size', where), height: size };
  if (size.height !== undefined || size.width !== undefined) return { width: positive(size.width, 'size.width', where), height: positive(size.height, 'size.height', where) };
  const edge = positive(size.shortest_edge, 'size.shortest_edge', where);
  const scale = edge / Math.min(frame.width, frame.height);
  return { width: Math.round(frame.width * scale), height: Math.round(frame.height * scale) };
}

export function imageProcessor(config: Record<string, unknown>, where: string): ImageProcessor {
  const doResize = config.do_resize !== false;
  const size = (config.size ?? 224) as Size;
  const crop = config.do_center_crop ? ((config.crop_size ?? size) as Size) : undefined;
  const doRescale = config.do_rescale !== false;
  const factor = doRescale ? positive(config.rescale_factor ?? 1 / 255, 'rescale_factor', where) : 1;
  const doNormalize = config.do_normalize !== false;
  const mean = doNormalize ? triple(config.image_mean, [0.5, 0.5, 0.5], 'image_mean', where) : [0, 0, 0];
  const std = doNormalize ? triple(config.image_std, [0.5, 0.5, 0.5], 'image_std', where) : [1, 1, 1];
  if (std.some((s) => s === 0)) throw new Error(`${where}: image_std must not be 0`);
  // The encoder's input size: the crop if there is one, else the resize target.
  const fixed = crop ?? size;
  if (typeof fixed === 'object' && fixed.shortest_edge !== undefined && !crop) {
    throw new Error(`${where}: size {shortest_edge} without do_center_crop gives images of varying size, which a vision encoder cannot take`);
  }
  const out = resizeTarget(fixed, { width: 1, height: 1 }, where);

  return {
    width: out.width,
    height: out.height,
    toPixelValues(frame: Frame): Float32Array {
      const target = resizeTarget(size, frame, where);
      let img = doResize ? resizeFrame(frame, target.width, target.height) : frame;
      if (crop) img = centreCrop(img, out.width, out.height);
      if (img.width !== out.width || img.height !== out.height) throw new Error(`${where}: the image is ${img.width}×${img.height} after preprocessing, the encoder takes ${out.width}×${out.height}`);
      const plane = out.width * out.height;
      const pixels = new Float32Array(3 * plane);
      for (let i = 0; i < plane; i++) {
        for (let c = 0; c < 3; c++) pixels[c * plane + i] = (img.data[i * 3 + c]! * factor - mean[c]!) / std[c]!;
      }
      return pixels;
    },
  };
}

function centreCrop(frame: Frame, width: number, height: number): Frame {
  if (frame.width < width || frame.height < height) return resizeFrame(frame, width, height);
  const left = Math.floor((frame.width - width) / 2);
  const top = Math.floor((frame.height - height) / 2);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) data.set(frame.data.subarray(((top + y) * frame.width + left) * 3, ((top + y) * frame.width + left + width) * 3), y * width * 3);
  return { width, height, data };
}
