import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { Rng } from '../../src/util/rng.js';
import { randomScene, type Scene } from '../../src/synth/world.js';
import { renderScene } from '../../src/synth/render.js';
import { captionsFor, canonicalCaption, contentWords, summaryFor } from '../../src/synth/grammar.js';
import { frameCount, groundTruth, videoFrames, videoScript, writeVideo, groundTruthPath } from '../../src/synth/video.js';
import { writeDataset } from '../../src/synth/dataset.js';
import { readCaptionDataset, hashSplit } from '../../src/train/caption-dataset.js';
import { readImage } from '../../src/media/image.js';

const digest = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

test('the same seed draws the same scenes and pixels; another seed does not', () => {
  const draw = (seed: number) => {
    const rng = new Rng(seed);
    return Array.from({ length: 20 }, () => randomScene(rng));
  };
  assert.deepEqual(draw(7), draw(7));
  assert.notDeepEqual(draw(7), draw(8));
  const a = draw(7).map((s) => digest(renderScene(s, 160, 120).data));
  const b = draw(7).map((s) => digest(renderScene(s, 160, 120).data));
  assert.deepEqual(a, b);
  assert.notDeepEqual(
    a,
    draw(8).map((s) => digest(renderScene(s, 160, 120).data)),
  );
});

test('objects are drawn in their colour where the scene puts them', () => {
  const rng = new Rng(3);
  let scene: Scene;
  do scene = randomScene(rng, 'single');
  while (scene.objects[0].colour !== 'red');
  const frame = renderScene(scene, 160, 120);
  const o = scene.objects[0];
  const i = (Math.round(o.y * 120) * 160 + Math.round(o.x * 160)) * 3;
  // The centre of every shape is inside it.
  assert.deepEqual([...frame.data.subarray(i, i + 3)], [220, 40, 40]);
});

test('the grammar gives five true phrasings, the canonical one first, with no background colour words', () => {
  const rng = new Rng(11);
  for (let k = 0; k < 200; k++) {
    const scene = randomScene(rng);
    const captions = captionsFor(scene);
    assert.equal(captions.length, 5);
    assert.equal(new Set(captions).size, 5, `phrasings repeat: ${captions.join(' | ')}`);
    assert.equal(canonicalCaption(scene), captions[0]);
    assert.deepEqual(captionsFor(scene), captions);
    const words = contentWords(captions[0]);
    const colours = new Set(scene.objects.map((o) => o.colour));
    const shapes = new Set(scene.objects.map((o) => o.shape));
    // Every colour and shape the canonical caption names is in the scene, and vice versa.
    assert.deepEqual(new Set(words.colours), colours, captions[0]);
    assert.deepEqual(new Set(words.shapes), shapes, captions[0]);
  }
});

test('a video script is a pure function of its seed, with contiguous scenes and sorted cuts', () => {
  const a = videoScript(5, { duration: 40 });
  assert.deepEqual(a, videoScript(5, { duration: 40 }));
  assert.notDeepEqual(a, videoScript(6, { duration: 40 }));
  assert.equal(a.scenes[0].start, 0);
  assert.ok(Math.abs(a.scenes[a.scenes.length - 1].end - 40) < 1e-9);
  for (let i = 1; i < a.scenes.length; i++) {
    assert.equal(a.scenes[i].start, a.scenes[i - 1].end);
    assert.equal(a.transitions[i - 1].at, a.scenes[i].start);
    assert.notEqual(canonicalCaption(a.scenes[i].scene), canonicalCaption(a.scenes[i - 1].scene));
  }
  const truth = groundTruth(a);
  assert.equal(truth.cuts.length, truth.scenes.length - 1);
  assert.equal(truth.summary, summaryFor(a.scenes.map((s) => s.scene)));
  assert.match(truth.summary, /^the video shows .+ and finally .+/);
});

test('video frames change at a hard cut and not within a still stretch', () => {
  const script = videoScript(9, { duration: 30, noise: 0, transitions: { cut: 1, fade: 0, dissolve: 0 } });
  const frames = [...videoFrames(script)];
  assert.equal(frames.length, frameCount(script));
  const diff = (a: Uint8Array, b: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
  const cut = Math.ceil(script.transitions[0].at * script.fps);
  assert.ok(diff(frames[cut - 1].data, frames[cut].data) > 8 * diff(frames[cut - 2].data, frames[cut - 1].data) + 1);
});

test('writeVideo encodes an H.264 clip with the scripted frame count and its ground truth', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-video-'));
  try {
    const out = join(dir, 'clip.mp4');
    const script = videoScript(4, { duration: 6, width: 160, height: 120, fps: 10 });
    const truth = await writeVideo(script, out);
    const probe = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', out], {
      encoding: 'utf8',
    });
    const stream = JSON.parse(probe.stdout).streams[0];
    assert.equal(stream.codec_name, 'h264');
    assert.equal(stream.width, 160);
    assert.equal(stream.height, 120);
    assert.equal(Number(stream.nb_read_frames), 60);
    assert.deepEqual(JSON.parse(await readFile(groundTruthPath(out), 'utf8')), JSON.parse(JSON.stringify(truth)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a synthetic dataset is written in the Flickr8k layout and read back with a stable split', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-ds-'));
  try {
    const result = await writeDataset({ outDir: dir, count: 12, seed: 3, progress: false });
    assert.deepEqual(result, { images: 12, captions: 60 });
    const text = await readFile(join(dir, 'captions.txt'), 'utf8');
    assert.equal(text.split('\n')[0], 'image,caption');
    const files = await readdir(join(dir, 'Images'));
    assert.equal(files.length, 12);
    const img = await readImage(join(dir, 'Images', files[0]));
    assert.deepEqual([img.width, img.height], [160, 120]);
    const ds = await readCaptionDataset(dir);
    assert.equal(ds.images.length, 12);
    for (const i of ds.images) {
      assert.equal(i.captions.length, 5);
      assert.equal(i.split, hashSplit(i.name));
    }
    // Same seed, same bytes.
    const again = await mkdtemp(join(tmpdir(), 'livecap-ds-'));
    await writeDataset({ outDir: again, count: 12, seed: 3, progress: false });
    assert.equal(await readFile(join(again, 'captions.txt'), 'utf8'), text);
    assert.equal(digest(await readFile(join(again, 'Images', files[5]))), digest(await readFile(join(dir, 'Images', files[5]))));
    await rm(again, { recursive: true });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a dataset cut short has no captions.txt, so a resumed training script writes it again', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-ds-'));
  try {
    const child = spawn(process.execPath, ['bin/livecap.js', 'synth', 'dataset', '--out', dir, '--count', '100000', '--seed', '5'], { stdio: 'ignore' });
    // Wait until pictures are being written, then cut it off as a lost session would.
    for (let i = 0; i < 300; i++) {
      const images = await readdir(join(dir, 'Images')).catch(() => []);
      if (images.length >= 20) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.ok((await readdir(join(dir, 'Images'))).length >= 20, 'the dataset was being written');
    const names = await readdir(dir);
    assert.ok(!names.includes('captions.txt'), `an unfinished dataset must not look finished: ${names.join(', ')}`);
    assert.ok(!names.includes('scenes.jsonl'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the hash split puts about 80/10/10 percent of names in train/val/test', () => {
  const counts = { train: 0, val: 0, test: 0 };
  for (let i = 0; i < 5000; i++) counts[hashSplit(`img-${i}.jpg`)]++;
  assert.ok(Math.abs(counts.train / 5000 - 0.8) < 0.03, JSON.stringify(counts));
  assert.ok(Math.abs(counts.val / 5000 - 0.1) < 0.02, JSON.stringify(counts));
});

test('a moving camera pans or zooms through a scene without changing the script it is added to', () => {
  const still = videoScript(77, { duration: 20 });
  const moving = videoScript(77, { duration: 20, camera: 1 });
  assert.deepEqual(
    moving.scenes.map(({ scene, start, end }) => ({ scene, start, end })),
    still.scenes,
    'the same scenes and cuts, with or without camera moves',
  );
  assert.deepEqual(moving.transitions, still.transitions);
  assert.ok(moving.scenes.every((s) => s.camera !== undefined));
  // The camera frames the scene differently, at the frame's own size.
  const seen = [...videoFrames({ ...moving, duration: 1, noise: 0 })];
  const plain = [...videoFrames({ ...still, duration: 1, noise: 0 })];
  assert.equal(seen[10].data.length, moving.width * moving.height * 3);
  assert.notDeepEqual(seen[10].data, plain[10].data);
});
