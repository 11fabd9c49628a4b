/**
 * Still images: decode JPEG and PNG to packed RGB24, encode them back, and resize with an
 * area filter (what ffmpeg's `scale=…:flags=area` does), all in-process and deterministic.
 */
import { readFile } from 'node:fs/promises';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { Frame } from '../core/frame.js';

/** Decodes a JPEG or PNG by its content (not its file name). */
export function decodeImage(bytes: Uint8Array, name = 'image'): Frame {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let rgba: { width: number; height: number; data: Uint8Array };
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) {
    try {
      rgba = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
    } catch (err) {
      throw new Error(`${name}: not a readable JPEG (${(err as Error).message})`);
    }
  } else if (buf.length >= 8 && buf.readUInt32BE(0) === 0x89504e47) {
    try {
      rgba = PNG.sync.read(buf);
    } catch (err) {
      throw new Error(`${name}: not a readable PNG (${(err as Error).message})`);
    }
  } else {
    throw new Error(`${name}: not a JPEG or PNG image`);
  }
  const { width, height } = rgba;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < data.length; i += 3, j += 4) {
    data[i] = rgba.data[j];
    data[i + 1] = rgba.data[j + 1];
    data[i + 2] = rgba.data[j + 2];
  }
  return { width, height, data };
}

export async function readImage(path: string): Promise<Frame> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new Error(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return decodeImage(bytes, path);
}

function toRgba(frame: Frame): Buffer {
  const out = Buffer.alloc(frame.width * frame.height * 4);
  for (let i = 0, j = 0; i < frame.data.length; i += 3, j += 4) {
    out[j] = frame.data[i];
    out[j + 1] = frame.data[i + 1];
    out[j + 2] = frame.data[i + 2];
    out[j + 3] = 255;
  }
  return out;
}

export function encodeJpeg(frame: Frame, quality = 92): Buffer {
  return jpeg.encode({ width: frame.width, height: frame.height, data: toRgba(frame) }, quality).data;
}

export function encodePng(frame: Frame): Buffer {
  const png = new PNG({ width: frame.width, height: frame.height });
  png.data = toRgba(frame);
  return PNG.sync.write(png);
}

/** Resamples one axis with an area (box) filter: each output cell averages what it covers. */
function resampleAxis(
  src: Float32Array,
  inLen: number,
  outLen: number,
  lines: number,
  stride: number,
  step: number,
  lineStep: number,
  outStride: number,
  outStep: number,
  outLineStep: number,
  dst: Float32Array,
): void {
  const scale = inLen / outLen;
  for (let line = 0; line < lines; line++) {
    for (let o = 0; o < outLen; o++) {
      const a = o * scale;
      const b = a + scale;
      let acc0 = 0;
      let acc1 = 0;
      let acc2 = 0;
      for (let i = Math.floor(a); i < Math.min(inLen, Math.ceil(b)); i++) {
        const w = Math.min(b, i + 1) - Math.max(a, i);
        const k = line * lineStep + i * step;
        acc0 += w * src[k];
        acc1 += w * src[k + stride];
        acc2 += w * src[k + 2 * stride];
      }
      const k = line * outLineStep + o * outStep;
      dst[k] = acc0 / scale;
      dst[k + outStride] = acc1 / scale;
      dst[k + 2 * outStride] = acc2 / scale;
    }
  }
}

/** Resizes to width × height with an area filter (exact averaging when shrinking). */
export function resizeFrame(frame: Frame, width: number, height: number): Frame {
  if (frame.width === width && frame.height === height) return frame;
  const src = Float32Array.from(frame.data);
  // Horizontal pass: (h, w) → (h, width); then vertical: → (height, width).
  const mid = new Float32Array(frame.height * width * 3);
  resampleAxis(src, frame.width, width, frame.height, 1, 3, frame.width * 3, 1, 3, width * 3, mid);
  const out = new Float32Array(height * width * 3);
  resampleAxis(mid, frame.height, height, width, 1, width * 3, 3, 1, width * 3, 3, out);
  const data = new Uint8Array(out.length);
  for (let i = 0; i < out.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(out[i])));
  return { width, height, data };
}
