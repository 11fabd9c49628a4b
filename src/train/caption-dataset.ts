/**
 * Reading a captioning dataset in the Flickr8k layout and splitting it.
 *
 *   DIR/Images/…           the images (JPEG or PNG)
 *   DIR/captions.txt       `image,caption` header, then one row per caption (the Kaggle layout), or
 *   DIR/Flickr8k.token.txt `image.jpg#0<TAB>caption` rows (the original layout)
 *
 * The split: when the official lists are present (Flickr_8k.trainImages.txt, …devImages.txt,
 * …testImages.txt), they are used. Otherwise each image goes to train, val or test by a hash
 * of its file name (80 / 10 / 10): stable whatever the row order or dataset size, and the same
 * image always lands in the same split.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hashString } from '../util/rng.js';

export type Split = 'train' | 'val' | 'test';

export interface CaptionedImage {
  name: string;
  captions: string[];
  split: Split;
}

export interface CaptionDataset {
  dir: string;
  imagesDir: string;
  images: CaptionedImage[];
  /** How the split was made, for reports. */
  splitMethod: string;
}

export function hashSplit(name: string): Split {
  const bucket = hashString(name) % 100;
  return bucket < 80 ? 'train' : bucket < 90 ? 'val' : 'test';
}

function parseCaptionsCsv(text: string, file: string): Map<string, string[]> {
  const lines = text.split(/\r?\n/);
  const header = lines[0]?.trim().toLowerCase();
  if (header !== 'image,caption') throw new Error(`${file}: first line must be the header 'image,caption', got '${lines[0]?.slice(0, 60) ?? ''}'`);
  const byImage = new Map<string, string[]>();
  lines.slice(1).forEach((line, i) => {
    if (!line.trim()) return;
    const comma = line.indexOf(',');
    if (comma <= 0) throw new Error(`${file}:${i + 2}: expected 'image,caption', got '${line.slice(0, 60)}'`);
    const name = line.slice(0, comma).trim();
    let caption = line.slice(comma + 1).trim();
    if (caption.startsWith('"') && caption.endsWith('"')) caption = caption.slice(1, -1).replace(/""/g, '"');
    const list = byImage.get(name) ?? [];
    list.push(caption);
    byImage.set(name, list);
  });
  return byImage;
}

function parseTokenFile(text: string): Map<string, string[]> {
  const byImage = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) {
    const tab = line.indexOf('\t');
    if (tab <= 0) continue;
    const name = line.slice(0, tab).replace(/#\d+$/, '');
    const list = byImage.get(name) ?? [];
    list.push(line.slice(tab + 1).trim());
    byImage.set(name, list);
  }
  return byImage;
}

async function readList(file: string): Promise<Set<string>> {
  return new Set(
    (await readFile(file, 'utf8'))
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean),
  );
}

export async function readCaptionDataset(dir: string): Promise<CaptionDataset> {
  const csv = join(dir, 'captions.txt');
  const token = join(dir, 'Flickr8k.token.txt');
  let byImage: Map<string, string[]>;
  if (existsSync(csv)) byImage = parseCaptionsCsv(await readFile(csv, 'utf8'), csv);
  else if (existsSync(token)) byImage = parseTokenFile(await readFile(token, 'utf8'));
  else throw new Error(`${dir}: not a captioning dataset: no captions.txt or Flickr8k.token.txt`);
  let imagesDir = join(dir, 'Images');
  if (!existsSync(imagesDir)) imagesDir = join(dir, 'Flicker8k_Dataset');
  if (!existsSync(imagesDir)) throw new Error(`${dir}: no Images/ folder`);
  if (byImage.size === 0) throw new Error(`${dir}: the captions file lists no images`);

  const lists = ['trainImages', 'devImages', 'testImages'].map((k) => join(dir, `Flickr_8k.${k}.txt`));
  let split: (name: string) => Split | undefined;
  let splitMethod: string;
  if (lists.every((f) => existsSync(f))) {
    const [train, val, test] = await Promise.all(lists.map(readList));
    split = (n) => (train.has(n) ? 'train' : val.has(n) ? 'val' : test.has(n) ? 'test' : undefined);
    splitMethod = 'official Flickr_8k train/dev/test lists';
  } else {
    split = hashSplit;
    splitMethod = 'hash of the image name: 80% train, 10% val, 10% test';
  }
  const images: CaptionedImage[] = [];
  for (const [name, captions] of byImage) {
    const s = split(name);
    if (s) images.push({ name, captions, split: s });
  }
  return { dir, imagesDir, images, splitMethod };
}
