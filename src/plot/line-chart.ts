/**
 * Line charts rendered straight to PNG (training curves, latency and memory over time), with
 * no browser or plotting library: axes, tick labels, a title and a legend in a bitmap font.
 * Several panels sit side by side in one image.
 */
import { encodePng } from '../media/image.js';
import { drawText, GLYPH_HEIGHT, textWidth } from './font.js';

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel?: string;
  series: readonly Series[];
  /** Plot y on a log scale (values must be positive). */
  logY?: boolean;
}

const PALETTE: readonly (readonly [number, number, number])[] = [
  [31, 119, 180],
  [214, 39, 40],
  [44, 160, 44],
  [255, 127, 14],
  [148, 103, 189],
  [140, 86, 75],
];

class Canvas {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8Array(width * height * 3).fill(255);
  }
  set(x: number, y: number, [r, g, b]: readonly [number, number, number]): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    this.data[i] = r;
    this.data[i + 1] = g;
    this.data[i + 2] = b;
  }
  line(x0: number, y0: number, x1: number, y1: number, colour: readonly [number, number, number], thick = 1): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      for (let dx = 0; dx < thick; dx++) for (let dy = 0; dy < thick; dy++) this.set(x + dx, y + dy, colour);
    }
  }
  text(t: string, x: number, y: number, colour: readonly [number, number, number] = [0, 0, 0]): void {
    drawText(t, Math.round(x), Math.round(y), (px, py) => this.set(px, py, colour));
  }
}

/** Round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function label(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

function drawPanel(c: Canvas, panel: Panel, ox: number, oy: number, w: number, h: number): void {
  const left = ox + 58;
  const right = ox + w - 12;
  const top = oy + 28;
  const bottom = oy + h - 34;
  const all = panel.series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!panel.logY || y > 0));
  c.text(panel.title, ox + (w - textWidth(panel.title)) / 2, oy + 8);
  if (all.length === 0) {
    c.text('no data', ox + w / 2 - 20, oy + h / 2);
    return;
  }
  const ty = (y: number) => (panel.logY ? Math.log10(y) : y);
  const x0 = Math.min(...all.map(([x]) => x));
  let x1 = Math.max(...all.map(([x]) => x));
  let y0 = Math.min(...all.map(([, y]) => ty(y)));
  let y1 = Math.max(...all.map(([, y]) => ty(y)));
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const px = (x: number) => left + ((x - x0) / (x1 - x0)) * (right - left);
  const py = (y: number) => bottom - ((ty(y) - y0) / (y1 - y0)) * (bottom - top);
  const grey: [number, number, number] = [225, 225, 225];
  const ink: [number, number, number] = [60, 60, 60];
  const yTicks = panel.logY ? niceTicks(y0, y1, 4).map((e) => 10 ** e) : niceTicks(y0, y1, 5);
  for (const t of yTicks) {
    const y = py(t);
    if (y < top - 1 || y > bottom + 1) continue;
    c.line(left, y, right, y, grey);
    const s = label(t);
    c.text(s, left - 6 - textWidth(s), y - 3, ink);
  }
  for (const t of niceTicks(x0, x1, 6)) {
    const x = px(t);
    c.line(x, bottom, x, bottom + 3, ink);
    const s = label(t);
    c.text(s, x - textWidth(s) / 2, bottom + 7, ink);
  }
  c.line(left, top, left, bottom, ink);
  c.line(left, bottom, right, bottom, ink);
  c.text(panel.xLabel, (left + right - textWidth(panel.xLabel)) / 2, bottom + 20, ink);
  if (panel.yLabel) c.text(panel.yLabel, ox + 4, top - 14, ink);
  panel.series.forEach((s, k) => {
    const colour = PALETTE[k % PALETTE.length];
    const pts = s.points.filter(([, y]) => Number.isFinite(y) && (!panel.logY || y > 0));
    for (let i = 1; i < pts.length; i++) c.line(px(pts[i - 1][0]), py(pts[i - 1][1]), px(pts[i][0]), py(pts[i][1]), colour, 2);
    if (pts.length === 1) c.line(px(pts[0][0]) - 2, py(pts[0][1]), px(pts[0][0]) + 2, py(pts[0][1]), colour, 3);
    // Legend, top right, one row per series.
    const ly = top + 4 + k * (GLYPH_HEIGHT + 5);
    const lx = right - 8 - textWidth(s.name) - 18;
    c.line(lx, ly + 3, lx + 12, ly + 3, colour, 2);
    c.text(s.name, lx + 16, ly, ink);
  });
}

/** Renders panels side by side into one PNG. */
export function renderChart(panels: readonly Panel[], panelWidth = 480, height = 320): Buffer {
  const c = new Canvas(panelWidth * panels.length, height);
  panels.forEach((p, i) => drawPanel(c, p, i * panelWidth, 0, panelWidth, height));
  return encodePng({ width: c.width, height: c.height, data: c.data });
}
