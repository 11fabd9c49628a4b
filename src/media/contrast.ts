import type { Frame } from '../core/frame.js';
/**
 * A frame's contrast, and the frame stretched to full contrast: what a picture looks like with
 * its lighting taken out (a camera at night, in fog, or behind a dirty lens gives dim or washed
 * out frames whose content is the same).
 */

export interface LumaStats {
  /** 1st and 99th percentiles of luma (Rec. 601), 0..255. */
  low: number;
  high: number;
  /** Standard deviation of luma: how much there is to see. */
  std: number;
}

const luma = (d: Uint8Array, i: number) => Math.round(0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!);

export function lumaStats(frame: Frame): LumaStats {
  const n = frame.width * frame.height;
  const histogram = new Uint32Array(256);
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const y = luma(frame.data, 3 * i);
    histogram[y]!++;
    sum += y;
    squares += y * y;
  }
  const percentile = (share: number, fromTop: boolean): number => {
    let seen = 0;
    for (let k = 0; k < 256; k++) {
      const v = fromTop ? 255 - k : k;
      seen += histogram[v]!;
      if (seen >= share * n) return v;
    }
    return fromTop ? 0 : 255;
  };
  const mean = sum / n;
  return { low: percentile(0.01, false), high: percentile(0.01, true), std: Math.sqrt(Math.max(0, squares / n - mean * mean)) };
}

/** The frame with its luma's 1st..99th percentiles spread over 0..255 (a flat frame is left as it is). */
export function stretchContrast(frame: Frame, stats: LumaStats = lumaStats(frame)): Frame {
  const { low, high } = stats;
  if (high - low < 4) return frame;
  const gain = 255 / (high - low);
  const data = new Uint8Array(frame.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.round((frame.data[i]! - low) * gain)));
  return { width: frame.width, height: frame.height, data };
}
