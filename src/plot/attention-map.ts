/**
 * Attention heatmaps: for each of a few frames, one row of tiles, the frame itself and then
 * one tile per generated word with the decoder's attention for that word laid over the frame
 * (bright where it looked, dark where it did not), the word written under it. Rendered straight
 * to PNG like the line charts.
 */
import { encodePng, resizeFrame } from '../media/image.js';
import { drawText, GLYPH_HEIGHT, textWidth } from './font.js';
import type { Frame } from '../core/frame.js';

export interface AttendedFrame {
  frame: Frame;
  /** The generated words, and "(end)" where the caption finished. */
  words: readonly string[];
  /** One map per word, row-major over the grid. */
  alphas: readonly Float32Array[];
  grid: readonly [number, number];
}

const TILE_W = 144;
const TILE_H = 108;
const GAP = 4;
const LABEL = GLYPH_HEIGHT + 6;
const MAX_TILES = 12;

/**
 * The attention map at a pixel, interpolated bilinearly between cell centres and scaled so the
 * map's largest weight is 1.
 */
export function upsampleAttention(alpha: Float32Array, grid: readonly [number, number], width: number, height: number): Float32Array {
  const [gh, gw] = grid;
  let max = 0;
  for (const a of alpha) max = Math.max(max, a);
  const out = new Float32Array(width * height);
  if (!(max > 0)) return out;
  for (let y = 0; y < height; y++) {
    const gy = Math.min(gh - 1, Math.max(0, ((y + 0.5) / height) * gh - 0.5));
    const y0 = Math.floor(gy);
    const y1 = Math.min(gh - 1, y0 + 1);
    const fy = gy - y0;
    for (let x = 0; x < width; x++) {
      const gx = Math.min(gw - 1, Math.max(0, ((x + 0.5) / width) * gw - 0.5));
      const x0 = Math.floor(gx);
      const x1 = Math.min(gw - 1, x0 + 1);
      const fx = gx - x0;
      const top = alpha[y0 * gw + x0] * (1 - fx) + alpha[y0 * gw + x1] * fx;
      const bottom = alpha[y1 * gw + x0] * (1 - fx) + alpha[y1 * gw + x1] * fx;
      out[y * width + x] = (top * (1 - fy) + bottom * fy) / max;
    }
  }
  return out;
}

/** Renders the rows into one PNG. */
export function attentionHeatmaps(rows: readonly AttendedFrame[], title = 'where the decoder looked for each word (bright: attended, each map scaled to its peak)'): Buffer {
  const cols = Math.max(1, ...rows.map((r) => Math.min(MAX_TILES, r.words.length) + 1));
  const width = GAP + cols * (TILE_W + GAP);
  const header = LABEL + GAP;
  const height = header + rows.length * (TILE_H + LABEL + GAP) + GAP;
  const data = new Uint8Array(width * height * 3).fill(255);
  const set = (x: number, y: number, rgb: readonly [number, number, number]) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    data.set(rgb, (y * width + x) * 3);
  };
  drawText(title, GAP, GAP, (x, y) => set(x, y, [0, 0, 0]));
  rows.forEach((row, r) => {
    const oy = header + r * (TILE_H + LABEL + GAP);
    const tile = resizeFrame(row.frame, TILE_W, TILE_H);
    const tiles = Math.min(MAX_TILES, row.words.length);
    for (let k = 0; k <= tiles; k++) {
      const ox = GAP + k * (TILE_W + GAP);
      const heat = k === 0 ? undefined : upsampleAttention(row.alphas[k - 1] ?? new Float32Array(row.grid[0] * row.grid[1]), row.grid, TILE_W, TILE_H);
      for (let y = 0; y < TILE_H; y++) {
        for (let x = 0; x < TILE_W; x++) {
          const i = (y * TILE_W + x) * 3;
          const a = heat ? heat[y * TILE_W + x] : 1;
          const px: [number, number, number] = [0, 1, 2].map((ch) => {
            const v = tile.data[i + ch] * (0.2 + 0.8 * a) + (heat ? [70, 45, 0][ch] * a : 0);
            return Math.max(0, Math.min(255, Math.round(v)));
          }) as [number, number, number];
          set(ox + x, oy + y, px);
        }
      }
      const label = k === 0 ? 'frame' : row.words[k - 1];
      const lx = ox + Math.max(0, Math.floor((TILE_W - textWidth(label)) / 2));
      drawText(label, lx, oy + TILE_H + 3, (x, y) => set(x, y, [0, 0, 0]));
    }
  });
  return encodePng({ width, height, data });
}
