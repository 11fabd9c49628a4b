/**
 * Software rasteriser for the synthetic world: a Scene becomes packed RGB24 pixels.
 *
 * Anti-aliased by 4 samples per pixel inside each object's bounding box, deterministic (no
 * randomness but the scene's own texture seed), and fast enough to render video frames on the
 * fly: backgrounds are cached per (scene, size) by the caller through `renderBackground`.
 */
import type { Background, Scene, SceneObject } from './world.js';
import { RGB } from './world.js';
import type { Frame } from '../core/frame.js';

export function renderScene(scene: Scene, width: number, height: number): Frame {
  const frame = renderBackground(scene.background, scene.textureSeed, width, height);
  for (const object of scene.objects) drawObject(frame, object);
  return frame;
}

/** Draws the scene's objects over a copy of an already rendered background. */
export function renderOver(background: Frame, scene: Scene): Frame {
  const frame = { ...background, data: background.data.slice() };
  for (const object of scene.objects) drawObject(frame, object);
  return frame;
}

function hash2(x: number, y: number, seed: number): number {
  let h = Math.imul(x, 374761393) ^ Math.imul(y, 668265263) ^ seed;
  h = Math.imul(h ^ (h >>> 13), 1274126177);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/** Smooth value noise over normalised coordinates at the given cell count. */
function valueNoise(x: number, y: number, cells: number, seed: number): number {
  const fx = x * cells;
  const fy = y * cells;
  const ix = Math.floor(fx);
  const iy = Math.floor(fy);
  const tx = fx - ix;
  const ty = fy - iy;
  const sx = tx * tx * (3 - 2 * tx);
  const sy = ty * ty * (3 - 2 * ty);
  const a = hash2(ix, iy, seed);
  const b = hash2(ix + 1, iy, seed);
  const c = hash2(ix, iy + 1, seed);
  const d = hash2(ix + 1, iy + 1, seed);
  return a + (b - a) * sx + (c - a) * sy + (a - b - c + d) * sx * sy;
}

export function renderBackground(background: Background, seed: number, width: number, height: number): Frame {
  const data = new Uint8Array(width * height * 3);
  for (let py = 0; py < height; py++) {
    const y = (py + 0.5) / height;
    for (let px = 0; px < width; px++) {
      const x = (px + 0.5) / width;
      let r: number;
      let g: number;
      let b: number;
      switch (background) {
        case 'grass': {
          const n = valueNoise(x, y, 6, seed) - 0.5;
          const blades = valueNoise(x * 12, y * 1.5, 8, seed ^ 0x51) - 0.5;
          r = 65 + 25 * n + 15 * blades;
          g = 140 + 35 * n + 30 * blades;
          b = 50 + 15 * n;
          break;
        }
        case 'sky': {
          const n = valueNoise(x, y, 3, seed) - 0.5;
          r = 95 + 95 * y + 20 * n;
          g = 155 + 60 * y + 15 * n;
          b = 230 + 18 * y;
          break;
        }
        case 'sand': {
          const n = valueNoise(x, y, 5, seed) - 0.5;
          const speck = hash2(px, py, seed) - 0.5;
          r = 215 + 25 * n + 30 * speck;
          g = 188 + 22 * n + 28 * speck;
          b = 135 + 18 * n + 24 * speck;
          break;
        }
        case 'night': {
          const n = valueNoise(x, y, 4, seed) - 0.5;
          r = 12 + 18 * y + 10 * n;
          g = 12 + 18 * y + 10 * n;
          b = 35 + 35 * y + 15 * n;
          break;
        }
        case 'snow': {
          const n = valueNoise(x, y, 5, seed) - 0.5;
          r = 228 + 18 * n;
          g = 232 + 15 * n;
          b = 242 + 10 * n;
          break;
        }
      }
      const i = (py * width + px) * 3;
      data[i] = clampByte(r);
      data[i + 1] = clampByte(g);
      data[i + 2] = clampByte(b);
    }
  }
  return { width, height, data };
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** Star outline: 10 vertices alternating outer radius 1 and inner radius 0.45, point up. */
const STAR: readonly (readonly [number, number])[] = Array.from({ length: 10 }, (_, k) => {
  const radius = k % 2 === 0 ? 1 : 0.45;
  const a = -Math.PI / 2 + (k * Math.PI) / 5;
  return [radius * Math.cos(a), radius * Math.sin(a)] as const;
});

/** Equilateral triangle, point up, circumradius 1. */
const TRIANGLE: readonly (readonly [number, number])[] = [0, 1, 2].map((k) => {
  const a = -Math.PI / 2 + (k * 2 * Math.PI) / 3;
  return [Math.cos(a), Math.sin(a)] as const;
});

function insidePolygon(x: number, y: number, poly: readonly (readonly [number, number])[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Whether a point in the object's unit frame (radius 1, upright) lies inside its shape. */
export function insideShape(shape: SceneObject['shape'], u: number, v: number): boolean {
  switch (shape) {
    case 'circle':
      return u * u + v * v <= 1;
    case 'square':
      return Math.abs(u) <= 0.8 && Math.abs(v) <= 0.8;
    case 'triangle':
      // Shift down so the triangle's visual centre sits at the object's centre.
      return insidePolygon(u, v - 0.2, TRIANGLE);
    case 'star':
      return insidePolygon(u, v, STAR);
    case 'cross':
      return (Math.abs(u) <= 0.3 && Math.abs(v) <= 0.9) || (Math.abs(v) <= 0.3 && Math.abs(u) <= 0.9);
  }
}

const SUBSAMPLES: readonly (readonly [number, number])[] = [
  [0.25, 0.25],
  [0.75, 0.25],
  [0.25, 0.75],
  [0.75, 0.75],
];

function drawObject(frame: Frame, o: SceneObject): void {
  const { width, height, data } = frame;
  const cx = o.x * width;
  const cy = o.y * height;
  const rad = o.r * height;
  const [cr, cg, cb] = RGB[o.colour];
  const cos = Math.cos(o.angle);
  const sin = Math.sin(o.angle);
  const x0 = Math.max(0, Math.floor(cx - rad * 1.3));
  const x1 = Math.min(width - 1, Math.ceil(cx + rad * 1.3));
  const y0 = Math.max(0, Math.floor(cy - rad * 1.3));
  const y1 = Math.min(height - 1, Math.ceil(cy + rad * 1.3));
  for (let py = y0; py <= y1; py++) {
    for (let px = x0; px <= x1; px++) {
      let hits = 0;
      for (const [sx, sy] of SUBSAMPLES) {
        const dx = (px + sx - cx) / rad;
        const dy = (py + sy - cy) / rad;
        // Rotate into the shape's upright frame.
        const u = dx * cos + dy * sin;
        const v = -dx * sin + dy * cos;
        if (insideShape(o.shape, u, v)) hits++;
      }
      if (hits === 0) continue;
      const alpha = hits / SUBSAMPLES.length;
      const i = (py * width + px) * 3;
      data[i] = Math.round(data[i] + (cr - data[i]) * alpha);
      data[i + 1] = Math.round(data[i + 1] + (cg - data[i + 1]) * alpha);
      data[i + 2] = Math.round(data[i + 2] + (cb - data[i + 2]) * alpha);
    }
  }
}

/** Linear blend of two frames of one size: t = 0 gives `a`, t = 1 gives `b`. */
export function blendFrames(a: Frame, b: Frame, t: number): Frame {
  const out = new Uint8Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(a.data[i] + (b.data[i] - a.data[i]) * t);
  return { width: a.width, height: a.height, data: out };
}

/** The frame scaled towards black: level 1 is unchanged, 0 is black. */
export function dimFrame(a: Frame, level: number): Frame {
  const out = new Uint8Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(a.data[i] * level);
  return { width: a.width, height: a.height, data: out };
}
