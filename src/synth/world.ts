/**
 * The synthetic scene world: what a scene is made of, and how a random scene is drawn.
 *
 * Coordinates are normalised: x and y run from 0 to 1 across the frame, whatever its pixel
 * size, so one scene renders at any resolution. Sizes are fractions of the frame height.
 */
import type { Rng } from '../util/rng.js';

export const SHAPES = ['circle', 'square', 'triangle', 'star', 'cross'] as const;
export type Shape = (typeof SHAPES)[number];

export const COLOURS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange', 'white', 'black'] as const;
export type Colour = (typeof COLOURS)[number];

export const BACKGROUNDS = ['grass', 'sky', 'sand', 'night', 'snow'] as const;
export type Background = (typeof BACKGROUNDS)[number];

export const SIZES = ['small', 'large'] as const;
export type Size = (typeof SIZES)[number];

/** Horizontal slots; a scene places each object (or group member) in its own slot. */
export const SLOTS = ['left', 'middle', 'right'] as const;
export type Slot = (typeof SLOTS)[number];

export const RGB: Record<Colour, readonly [number, number, number]> = {
  red: [220, 40, 40],
  green: [40, 175, 60],
  blue: [40, 80, 225],
  yellow: [245, 215, 40],
  purple: [145, 60, 195],
  orange: [250, 140, 30],
  white: [245, 245, 245],
  black: [25, 25, 25],
};

/** Object colours that would vanish against a background are never drawn on it. */
const CLASHES: Record<Background, readonly Colour[]> = {
  grass: ['green'],
  sky: ['blue', 'white'],
  sand: ['yellow', 'orange', 'white'],
  night: ['black', 'blue', 'purple'],
  snow: ['white', 'yellow'],
};

export const SIZE_RADIUS: Record<Size, number> = { small: 0.1, large: 0.19 };
const SLOT_X: Record<Slot, number> = { left: 0.2, middle: 0.5, right: 0.8 };

export interface SceneObject {
  shape: Shape;
  colour: Colour;
  size: Size;
  slot: Slot;
  /** Centre, normalised. */
  x: number;
  y: number;
  /** Radius as a fraction of frame height. */
  r: number;
  /** Rotation in radians; shapes are drawn upright enough to keep their names. */
  angle: number;
  /** Velocity in normalised units per second, used by videos. */
  vx: number;
  vy: number;
}

export type SceneKind = 'single' | 'pair' | 'group' | 'triple';

export interface Scene {
  kind: SceneKind;
  background: Background;
  /** Objects ordered left to right. */
  objects: SceneObject[];
  /** Seed of the background texture, so a scene looks the same in every frame. */
  textureSeed: number;
}

export function allowedColours(background: Background): Colour[] {
  return COLOURS.filter((c) => !CLASHES[background].includes(c));
}

function placeObject(rng: Rng, shape: Shape, colour: Colour, size: Size, slot: Slot): SceneObject {
  const r = SIZE_RADIUS[size] * rng.range(0.9, 1.1);
  const y = rng.range(0.3 + r * 0.5, 0.7 - r * 0.5);
  const x = SLOT_X[slot] + rng.range(-0.04, 0.04);
  const speed = rng.range(0.005, 0.03);
  const heading = rng.range(0, 2 * Math.PI);
  const angle = shape === 'circle' ? 0 : rng.range(-0.15, 0.15);
  return { shape, colour, size, slot, x, y, r, angle, vx: speed * Math.cos(heading), vy: speed * Math.sin(heading) };
}

/** Where `count` objects of a scene go: all three slots, or two of them (left and right half the time). */
function slotsFor(rng: Rng, count: number): Slot[] {
  if (count === 3) return [...SLOTS];
  if (rng.chance(0.5)) return ['left', 'right'];
  return rng.pick([
    ['left', 'middle'],
    ['middle', 'right'],
  ] as Slot[][]);
}

/** Draws one random scene. The result depends only on the generator's state. */
export function randomScene(rng: Rng, kind?: SceneKind): Scene {
  const sceneKind: SceneKind =
    kind ??
    rng.weighted<SceneKind>([
      ['single', 0.4],
      ['pair', 0.25],
      ['group', 0.2],
      ['triple', 0.15],
    ]);
  const background = rng.pick(BACKGROUNDS);
  const colours = allowedColours(background);
  const textureSeed = rng.uint32();
  const objects: SceneObject[] = [];
  if (sceneKind === 'single') {
    objects.push(placeObject(rng, rng.pick(SHAPES), rng.pick(colours), rng.pick(SIZES), rng.pick(SLOTS)));
  } else if (sceneKind === 'group') {
    const shape = rng.pick(SHAPES);
    const colour = rng.pick(colours);
    const size = rng.pick(SIZES);
    const count = rng.chance(0.6) ? 2 : 3;
    const slots = slotsFor(rng, count);
    for (const slot of slots) objects.push(placeObject(rng, shape, colour, size, slot));
  } else {
    const count = sceneKind === 'pair' ? 2 : 3;
    const slots = slotsFor(rng, count);
    const seen = new Set<string>();
    for (const slot of slots) {
      // Distinct (shape, colour) pairs, so each object has its own name in the caption.
      let shape: Shape;
      let colour: Colour;
      do {
        shape = rng.pick(SHAPES);
        colour = rng.pick(colours);
      } while (seen.has(`${shape}/${colour}`));
      seen.add(`${shape}/${colour}`);
      // Several objects side by side must fit: keep them small or medium.
      const size: Size = count === 3 ? 'small' : rng.pick(SIZES);
      objects.push(placeObject(rng, shape, colour, size, slot));
    }
  }
  return { kind: sceneKind, background, objects, textureSeed };
}

/** The scene's objects moved by their velocities for `seconds`, bouncing inside their slot. */
export function advanceScene(scene: Scene, seconds: number): Scene {
  return {
    ...scene,
    objects: scene.objects.map((o) => {
      const home = SLOT_X[o.slot];
      return { ...o, x: bounce(o.x + o.vx * seconds, home - 0.07, home + 0.07), y: bounce(o.y + o.vy * seconds, 0.3, 0.7) };
    }),
  };
}

/** Reflects t into [lo, hi] as a ball bouncing between two walls would be. */
function bounce(t: number, lo: number, hi: number): number {
  const span = hi - lo;
  let u = (t - lo) % (2 * span);
  if (u < 0) u += 2 * span;
  return lo + (u <= span ? u : 2 * span - u);
}

/**
 * What a model trained on this world knows, in words: written into a model folder's manifest
 * so that users and the viewer can say it plainly.
 */
export function describeWorld(): string {
  return (
    `Synthetic pictures only: one to three flat shapes (${SHAPES.join(', ')}) in ${COLOURS.join(', ')}, ` +
    `on a plain backdrop of ${BACKGROUNDS.join(', ')}. Nothing else: people, animals, vehicles, buildings, ` +
    `text and real places are beyond it, and its captions of real camera footage mean nothing. For real ` +
    `captions, bring a pretrained ONNX export (livecap models pull) or a vision-language model server (captioner kind openai).`
  );
}
