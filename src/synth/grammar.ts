/**
 * The caption grammar of the synthetic world: five phrasings per scene (Flickr8k has five
 * captions per image), the canonical caption (the first and most complete), and the one-
 * sentence summary of a sequence of scenes.
 *
 * Phrasings vary word choice (small/little, large/big), detail (with or without position or
 * background) and structure, so that a captioner trained on them sees natural variety while
 * every phrasing stays true to the picture. Background phrases use no colour words, so the
 * colour words of a caption always name objects.
 */
import type { Background, Colour, Scene, SceneObject, Shape, Size, Slot } from './world.js';
import { COLOURS, SHAPES } from './world.js';

const SIZE_WORDS: Record<Size, readonly [string, string]> = { small: ['small', 'little'], large: ['large', 'big'] };
const SLOT_WORDS: Record<Slot, readonly [string, string]> = {
  left: ['on the left', 'on the left side'],
  middle: ['in the middle', 'in the center'],
  right: ['on the right', 'on the right side'],
};
const BACKGROUND_WORDS: Record<Background, readonly [string, string]> = {
  grass: ['on the grass', 'on a lawn'],
  sky: ['in the sky', 'up in the sky'],
  sand: ['on the sand', 'on sandy ground'],
  night: ['in the dark', 'at night'],
  snow: ['on the snow', 'in the snow'],
};
const PLURALS: Record<Shape, string> = {
  circle: 'circles',
  square: 'squares',
  triangle: 'triangles',
  star: 'stars',
  cross: 'crosses',
};
const NUMBERS = ['zero', 'one', 'two', 'three'] as const;

/** Every word the grammar can say for a colour or a shape, for checking a caption's content. */
export const COLOUR_WORDS: readonly Colour[] = COLOURS;
export const SHAPE_WORDS: ReadonlyMap<string, Shape> = new Map<string, Shape>([...SHAPES.map((s) => [s, s] as const), ...SHAPES.map((s) => [PLURALS[s], s] as const)]);

const np = (o: SceneObject) => `a ${o.colour} ${o.shape}`;
const npSized = (o: SceneObject, variant: 0 | 1) => `a ${SIZE_WORDS[o.size][variant]} ${o.colour} ${o.shape}`;

/** Five captions for the scene; the first is the canonical one. */
export function captionsFor(scene: Scene): string[] {
  const bg = BACKGROUND_WORDS[scene.background];
  const objs = scene.objects;
  switch (scene.kind) {
    case 'single': {
      const [o] = objs;
      const pos = SLOT_WORDS[o.slot];
      return [
        `${npSized(o, 0)} ${bg[0]} ${pos[0]}`,
        `${np(o)} ${bg[1]}`,
        `there is ${npSized(o, 1)} ${pos[1]}`,
        `${np(o)} ${pos[1]} ${bg[0]}`,
        `one ${SIZE_WORDS[o.size][1]} ${o.colour} ${o.shape} ${bg[1]}`,
      ];
    }
    case 'pair': {
      const [a, b] = objs;
      return [
        `${npSized(a, 0)} and ${npSized(b, 0)} ${bg[0]}`,
        `${np(a)} ${SLOT_WORDS[a.slot][0]} and ${np(b)} ${SLOT_WORDS[b.slot][0]}`,
        `two shapes ${bg[1]} ${np(a)} and ${np(b)}`,
        `${np(a)} next to ${np(b)} ${bg[1]}`,
        `there is ${np(a)} and ${np(b)}`,
      ];
    }
    case 'triple': {
      const [a, b, c] = objs;
      return [
        `${np(a)} ${np(b)} and ${np(c)} ${bg[0]}`,
        `three shapes ${np(a)} ${np(b)} and ${np(c)}`,
        `${np(a)} on the left ${np(b)} in the middle and ${np(c)} on the right`,
        `${np(a)} next to ${np(b)} and ${np(c)} ${bg[1]}`,
        // Every caption names the objects: one that only counted them ("there are three shapes
        // in the sky") was a reference a model could learn to say instead, and say nothing.
        `there are three shapes ${bg[1]} ${np(c)} ${np(b)} and ${np(a)}`,
      ];
    }
    case 'group': {
      const [o] = objs;
      const n = NUMBERS[objs.length];
      const plural = PLURALS[o.shape];
      const size = SIZE_WORDS[o.size];
      return [
        `${n} ${size[0]} ${o.colour} ${plural} ${bg[0]}`,
        `${n} ${o.colour} ${plural} ${bg[1]}`,
        `there are ${n} ${o.colour} ${plural}`,
        `${objs.length === 2 ? 'a pair of' : 'a row of three'} ${size[1]} ${o.colour} ${plural}`,
        `${n} ${o.colour} ${plural} side by side ${bg[0]}`,
      ];
    }
  }
}

export function canonicalCaption(scene: Scene): string {
  return captionsFor(scene)[0];
}

/** A short phrase naming what a scene shows, used inside summaries. */
export function scenePhrase(scene: Scene): string {
  const bg = BACKGROUND_WORDS[scene.background][0];
  const objs = scene.objects;
  switch (scene.kind) {
    case 'single':
      return `${np(objs[0])} ${bg}`;
    case 'pair':
      return `${np(objs[0])} and ${np(objs[1])} ${bg}`;
    case 'triple':
      return `three shapes ${bg}`;
    case 'group':
      return `${NUMBERS[objs.length]} ${objs[0].colour} ${PLURALS[objs[0].shape]} ${bg}`;
  }
}

/** One sentence for a sequence of scenes: "the video shows X then Y and finally Z". */
export function summaryFor(scenes: readonly Scene[]): string {
  const phrases: string[] = [];
  for (const scene of scenes) {
    const phrase = scenePhrase(scene);
    if (phrases[phrases.length - 1] !== phrase) phrases.push(phrase);
  }
  if (phrases.length === 0) return 'the video shows nothing';
  if (phrases.length === 1) return `the video shows ${phrases[0]}`;
  const head = phrases.slice(0, -1).join(' then ');
  return `the video shows ${head} and finally ${phrases[phrases.length - 1]}`;
}

/** The colour and shape words of a caption, in order, with plurals folded to their shape. */
export function contentWords(caption: string): { colours: Colour[]; shapes: Shape[] } {
  const colours: Colour[] = [];
  const shapes: Shape[] = [];
  for (const word of caption.toLowerCase().split(/[^a-z]+/)) {
    if ((COLOUR_WORDS as readonly string[]).includes(word)) colours.push(word as Colour);
    const shape = SHAPE_WORDS.get(word);
    if (shape) shapes.push(shape);
  }
  return { colours, shapes };
}

/** An object a caption names: its colour, its shape (null when the caption names none) and how many. */
export interface NamedObjects {
  colour: Colour | null;
  shape: Shape | null;
  count: number;
}

const COUNT_WORDS: ReadonlyMap<string, number> = new Map([
  ['one', 1],
  ['two', 2],
  ['three', 3],
  ['a', 1],
]);
const SIZE_WORD_SET: ReadonlySet<string> = new Set(Object.values(SIZE_WORDS).flat());

/**
 * The objects a caption names, read with the grammar's own words: "a (size) COLOUR SHAPE" is
 * one object, "two|three (size) COLOUR SHAPES", "a pair of …" and "a row of three …" are
 * several of one kind. A colour with no shape after it, or a shape with no colour before it,
 * is kept with the missing part null, so a half-named object never passes for a right one.
 *
 *   captionObjects('two red circles and a blue star')
 *   // [{colour: 'red', shape: 'circle', count: 2}, {colour: 'blue', shape: 'star', count: 1}]
 */
export function captionObjects(caption: string): NamedObjects[] {
  const words = caption
    .toLowerCase()
    .split(/[^a-z]+/)
    .filter(Boolean);
  const out: NamedObjects[] = [];
  for (let i = 0; i < words.length; i++) {
    const colour = (COLOUR_WORDS as readonly string[]).includes(words[i]) ? (words[i] as Colour) : null;
    const shapeHere = SHAPE_WORDS.get(words[i]);
    if (!colour && !shapeHere) continue;
    if (!colour) {
      out.push({ colour: null, shape: shapeHere!, count: 1 });
      continue;
    }
    const shapeWord = words[i + 1];
    const shape = shapeWord === undefined ? undefined : SHAPE_WORDS.get(shapeWord);
    if (!shape) {
      out.push({ colour, shape: null, count: 1 });
      continue;
    }
    i++;
    let count = 1;
    if (shapeWord !== shape) {
      // A plural: its count is the number word before the colour, past any size word.
      let j = i - 2;
      while (j >= 0 && SIZE_WORD_SET.has(words[j])) j--;
      if (words[j] === 'of' && words[j - 1] === 'pair') count = 2;
      else count = COUNT_WORDS.get(words[j]) ?? 0;
      if (count === 1) count = 0; // "one red circles" names no right count
    }
    out.push({ colour, shape, count });
  }
  return out;
}

/**
 * Whether a caption names exactly the scene's objects: the same (colour, shape) pairs with the
 * same multiplicities, nothing missing, nothing extra, nothing half-named.
 */
export function namesExactObjects(scene: Scene, caption: string): boolean {
  const key = (colour: string | null, shape: string | null) => `${colour} ${shape}`;
  const want = new Map<string, number>();
  for (const o of scene.objects) want.set(key(o.colour, o.shape), (want.get(key(o.colour, o.shape)) ?? 0) + 1);
  const got = new Map<string, number>();
  for (const o of captionObjects(caption)) {
    if (o.colour === null || o.shape === null || o.count < 1) return false;
    got.set(key(o.colour, o.shape), (got.get(key(o.colour, o.shape)) ?? 0) + o.count);
  }
  if (got.size !== want.size) return false;
  for (const [k, n] of want) if (got.get(k) !== n) return false;
  return true;
}
