/**
 * The CNN→LSTM captioner: a backbone turns a frame into a feature vector, and a decoder reads
 * the features with the caption so far and predicts the next word ("merge" style, as in the
 * Keras Flickr8k captioners users bring). Decoding is greedy or beam search.
 *
 * Two decoder conventions load:
 *  - per step (Keras tutorials): words input of fixed length, output [batch, vocab] for the
 *    next word after the (pre-padded) prefix;
 *  - per position (the embedded model): output [batch, time, vocab], the next word after each
 *    prefix position; the words input may have any length.
 * A manifest with `decoder.kind: "attention"` has an attention decoder instead (attention.ts),
 * which reads the backbone's spatial feature map rather than a pooled vector.
 */
import type { LayersModel, Tensor, Tensor2D } from '@tensorflow/tfjs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSaveHandler, loadLayersModel } from '../tfjs/file-io.js';
import { resizeFrame } from '../../media/image.js';
import { readManifest, type CaptionerManifest, type PixelScale } from './model-dir.js';
import { Vocabulary } from './vocabulary.js';
import { search, type Hypothesis, type SearchOptions } from './search.js';
import { AttentionDecoder, type AttendedHypothesis } from './attention.js';
import { DomainModel } from './domain.js';
import { lumaStats, stretchContrast } from '../../media/contrast.js';
import type { Frame } from '../../core/frame.js';
import type { Caption, CaptionOptions } from '../../core/caption.js';
import type { Tf } from '../tfjs/tf.js';

/** A caption with, per generated word, where an attention decoder looked (see attention.ts). */
export interface AttendedCaption extends Caption {
  words: string[];
  /** One map per word (and one for the end token when the caption finished), row-major over the grid. */
  alphas: Float32Array[];
  grid: [number, number];
}

/** What the loader found out about the two models, after checking they fit together. */
export interface CaptionerShapes {
  inputHeight: number;
  inputWidth: number;
  featureSize: number;
  /** Whether the backbone yields a spatial map that is average-pooled into the feature vector. */
  pooled: boolean;
  featureInput: number;
  wordsInput: number;
  /** Fixed length of the words input, or null when any length is accepted. */
  wordsLength: number | null;
  perPosition: boolean;
  /** Whether the decoder ends in a softmax (probabilities) rather than logits. */
  softmax: boolean;
  maxLength: number;
}

const CAFFE_MEANS_BGR = [103.939, 116.779, 123.68];
const TORCH_MEAN = [0.485, 0.456, 0.406];
const TORCH_STD = [0.229, 0.224, 0.225];

/** Packs frames into a float batch scaled as the backbone expects. */
export function preprocess(frames: readonly Frame[], width: number, height: number, scale: PixelScale): Float32Array {
  const size = width * height * 3;
  const out = new Float32Array(frames.length * size);
  frames.forEach((frame, n) => {
    const px = resizeFrame(frame, width, height).data;
    const o = n * size;
    for (let i = 0; i < size; i += 3) {
      const r = px[i];
      const g = px[i + 1];
      const b = px[i + 2];
      switch (scale) {
        case '0..1':
          out[o + i] = r / 255;
          out[o + i + 1] = g / 255;
          out[o + i + 2] = b / 255;
          break;
        case '-1..1':
          out[o + i] = r / 127.5 - 1;
          out[o + i + 1] = g / 127.5 - 1;
          out[o + i + 2] = b / 127.5 - 1;
          break;
        case 'caffe':
          out[o + i] = b - CAFFE_MEANS_BGR[0];
          out[o + i + 1] = g - CAFFE_MEANS_BGR[1];
          out[o + i + 2] = r - CAFFE_MEANS_BGR[2];
          break;
        case 'torch':
          out[o + i] = (r / 255 - TORCH_MEAN[0]) / TORCH_STD[0];
          out[o + i + 1] = (g / 255 - TORCH_MEAN[1]) / TORCH_STD[1];
          out[o + i + 2] = (b / 255 - TORCH_MEAN[2]) / TORCH_STD[2];
          break;
      }
    }
  });
  return out;
}

function shapeText(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? 'null' : d)).join(', ')}]`;
}

/**
 * The backbone's spatial feature map [height, width, channels]: its output when that is a map,
 * or the input of the Flatten layer that ends it (the embedded backbone); null when it has none.
 */
export function backboneGrid(backbone: LayersModel): [number, number, number] | null {
  const out = backbone.outputs[0].shape;
  const isGrid = (s: readonly (number | null)[]) => s.length === 4 && s.slice(1).every((d) => typeof d === 'number');
  if (isGrid(out)) return out.slice(1) as [number, number, number];
  const last = backbone.layers[backbone.layers.length - 1];
  if (last.getClassName() === 'Flatten') {
    const shape = last.inputSpec?.[0]?.shape ?? (last.input as { shape: (number | null)[] }).shape;
    if (shape && isGrid(shape)) return shape.slice(1) as [number, number, number];
  }
  return null;
}

/** Checks that a backbone, an attention decoder and a vocabulary fit together. */
export function inspectAttention(
  backbone: LayersModel,
  decoder: AttentionDecoder,
  vocabulary: Vocabulary,
  manifest: CaptionerManifest,
  paths: { backbone: string; decoder: string; vocabulary: string },
): CaptionerShapes {
  const inShape = checkBackboneInput(backbone, paths.backbone);
  const grid = backboneGrid(backbone);
  if (!grid)
    throw new Error(
      `${paths.backbone}: an attention decoder needs a backbone that yields a spatial feature map [batch, h, w, channels] (or flattens one), got ${shapeText(backbone.outputs[0].shape)}`,
    );
  if (grid.join(',') !== decoder.spec.grid.join(',')) {
    throw new Error(`${paths.decoder}: attends over a ${decoder.spec.grid.join('×')} feature map but the backbone ${paths.backbone} gives ${grid.join('×')}`);
  }
  if (decoder.spec.vocabularySize !== vocabulary.size) {
    throw new Error(
      `${paths.vocabulary}: vocabulary has ${vocabulary.size} entries (padding included) but ${paths.decoder} predicts ${decoder.spec.vocabularySize} words; the vocabulary does not belong to this decoder`,
    );
  }
  const maxLength = manifest.search.maxLength ?? manifest.decoder.maxLength;
  if (!maxLength) throw new Error(`${paths.decoder}: an attention decoder needs decoder.maxLength in the manifest`);
  return {
    inputHeight: inShape[1],
    inputWidth: inShape[2],
    featureSize: decoder.featureSize,
    pooled: false,
    featureInput: 0,
    wordsInput: 1,
    wordsLength: null,
    perPosition: true,
    softmax: false,
    maxLength,
  };
}

function checkBackboneInput(backbone: LayersModel, path: string): [null, number, number, 3] {
  if (backbone.inputs.length !== 1) throw new Error(`${path}: a backbone takes one image input, this model has ${backbone.inputs.length}`);
  const inShape = backbone.inputs[0].shape;
  if (inShape.length !== 4 || inShape[3] !== 3 || typeof inShape[1] !== 'number' || typeof inShape[2] !== 'number') {
    throw new Error(`${path}: backbone input must be [batch, height, width, 3] with a fixed height and width, got ${shapeText(inShape)}`);
  }
  if (backbone.outputs.length !== 1) throw new Error(`${path}: a backbone has one output, this model has ${backbone.outputs.length}`);
  return inShape as [null, number, number, 3];
}

/** Checks that backbone, decoder and vocabulary fit together; every error names the file and the mismatch. */
export function inspectModels(
  backbone: LayersModel,
  decoder: LayersModel,
  vocabulary: Vocabulary,
  manifest: CaptionerManifest,
  paths: { backbone: string; decoder: string; vocabulary: string },
): CaptionerShapes {
  const inShape = checkBackboneInput(backbone, paths.backbone);
  const outShape = backbone.outputs[0].shape;
  let featureSize: number;
  let pooled = false;
  if (outShape.length === 2 && typeof outShape[1] === 'number') featureSize = outShape[1];
  else if (outShape.length === 4 && typeof outShape[3] === 'number') {
    featureSize = outShape[3];
    pooled = true;
  } else throw new Error(`${paths.backbone}: backbone output must be a feature vector [batch, features] or a feature map [batch, h, w, channels], got ${shapeText(outShape)}`);

  if (decoder.inputs.length !== 2) throw new Error(`${paths.decoder}: a decoder takes two inputs (image features and words), this model has ${decoder.inputs.length}`);
  const embedding = decoder.layers.find((l) => l.getClassName() === 'Embedding');
  const embeddingInput = embedding ? (embedding.input as { name: string }).name : undefined;
  let wordsInput = decoder.inputs.findIndex((t) => t.name === embeddingInput);
  if (wordsInput < 0) wordsInput = decoder.inputs.findIndex((t) => t.shape[1] !== featureSize);
  const featureInput = 1 - wordsInput;
  if (wordsInput < 0) throw new Error(`${paths.decoder}: cannot tell the words input from the features input (no Embedding layer)`);
  const featShape = decoder.inputs[featureInput].shape;
  if (featShape.length !== 2 || featShape[1] !== featureSize) {
    throw new Error(`${paths.decoder}: decoder expects image features ${shapeText(featShape)} but the backbone ${paths.backbone} gives ${featureSize} features`);
  }
  const wordsShape = decoder.inputs[wordsInput].shape;
  if (wordsShape.length !== 2) throw new Error(`${paths.decoder}: words input must be [batch, length], got ${shapeText(wordsShape)}`);
  const wordsLength = typeof wordsShape[1] === 'number' ? wordsShape[1] : null;

  if (decoder.outputs.length !== 1) throw new Error(`${paths.decoder}: a decoder has one output, this model has ${decoder.outputs.length}`);
  const yShape = decoder.outputs[0].shape;
  const perPosition = yShape.length === 3;
  const vocabOut = yShape[yShape.length - 1];
  if (!(yShape.length === 2 || yShape.length === 3) || typeof vocabOut !== 'number') {
    throw new Error(`${paths.decoder}: decoder output must be [batch, vocabulary] or [batch, time, vocabulary], got ${shapeText(yShape)}`);
  }
  if (vocabOut !== vocabulary.size) {
    throw new Error(
      `${paths.vocabulary}: vocabulary has ${vocabulary.size} entries (padding included) but ${paths.decoder} predicts ${vocabOut} words; the vocabulary does not belong to this decoder`,
    );
  }
  const last = decoder.layers[decoder.layers.length - 1];
  const activation = (last.getConfig() as { activation?: string }).activation;
  const softmax = activation === 'softmax' || last.getClassName() === 'Softmax';
  const maxLength = manifest.search.maxLength ?? manifest.decoder.maxLength ?? wordsLength;
  if (!maxLength) throw new Error(`${paths.decoder}: the words input has no fixed length; set decoder.maxLength in the manifest`);
  return { inputHeight: inShape[1], inputWidth: inShape[2], featureSize, pooled, featureInput, wordsInput, wordsLength, perPosition, softmax, maxLength };
}

export class CnnLstmCaptioner {
  private disposed = false;

  private constructor(
    private readonly tf: Tf,
    readonly dir: string,
    readonly manifest: CaptionerManifest,
    readonly backbone: LayersModel,
    /** The layers decoder; undefined when the manifest's decoder is an attention decoder. */
    readonly decoder: LayersModel | undefined,
    readonly vocabulary: Vocabulary,
    readonly shapes: CaptionerShapes,
    /** The attention decoder, when the manifest says `decoder.kind: "attention"`. */
    readonly attention?: AttentionDecoder,
    /** Tells frames beyond the training pictures, when the model folder has one. */
    readonly domain?: DomainModel,
  ) {}

  /** Loads and checks a model directory (see model-dir.ts); `domain: false` skips its domain detector. */
  static async load(tf: Tf, dir: string, options: { domain?: boolean } = {}): Promise<CnnLstmCaptioner> {
    const manifest = await readManifest(dir);
    const paths = { backbone: join(dir, manifest.backbone.model), decoder: join(dir, manifest.decoder.model), vocabulary: join(dir, manifest.vocabulary) };
    const vocabulary = await Vocabulary.load(paths.vocabulary, manifest.tokens);
    const backbone = await loadLayersModel(tf, paths.backbone);
    // The out-of-domain detector reads the features the backbone gives, whichever the decoder.
    const loadDomain = async (shapes: CaptionerShapes): Promise<DomainModel | undefined> => {
      if (options.domain === false || !manifest.domain?.detector) return undefined;
      const file = join(dir, manifest.domain.detector);
      const domain = await DomainModel.load(file);
      if (domain.featureSize !== shapes.featureSize)
        throw new Error(`${file}: the domain detector expects ${domain.featureSize} features but the backbone gives ${shapes.featureSize}; run livecap domain again for this backbone`);
      return domain;
    };
    if (manifest.decoder.kind === 'attention') {
      let attention: AttentionDecoder | undefined;
      try {
        attention = await AttentionDecoder.load(tf, paths.decoder);
        const shapes = inspectAttention(backbone, attention, vocabulary, manifest, paths);
        return new CnnLstmCaptioner(tf, dir, manifest, backbone, undefined, vocabulary, shapes, attention, await loadDomain(shapes));
      } catch (err) {
        backbone.dispose();
        attention?.dispose();
        throw err;
      }
    }
    let decoder: LayersModel;
    try {
      decoder = await loadLayersModel(tf, paths.decoder);
    } catch (err) {
      backbone.dispose();
      throw err;
    }
    try {
      const shapes = inspectModels(backbone, decoder, vocabulary, manifest, paths);
      return new CnnLstmCaptioner(tf, dir, manifest, backbone, decoder, vocabulary, shapes, undefined, await loadDomain(shapes));
    } catch (err) {
      backbone.dispose();
      decoder.dispose();
      throw err;
    }
  }

  /**
   * Feature vectors of a batch of frames, as one [n, features] tensor the caller disposes; for
   * an attention decoder, the spatial feature map flattened row-major.
   */
  features(frames: readonly Frame[]): Tensor2D {
    this.assertLive();
    const { inputWidth: w, inputHeight: h, pooled } = this.shapes;
    const pixels = preprocess(frames, w, h, this.manifest.backbone.pixelScale);
    return this.tf.tidy(() => {
      const y = this.backbone.predict(this.tf.tensor4d(pixels, [frames.length, h, w, 3])) as Tensor;
      if (y.rank === 4 && !pooled) return y.reshape([frames.length, -1]) as Tensor2D;
      return (pooled ? this.tf.mean(y, [1, 2]) : y) as Tensor2D;
    });
  }

  /** Log-probabilities of the next word after each prefix, for one image's features [1, F]. */
  private async nextLogProbs(features: Tensor2D, prefixes: readonly number[][]): Promise<Float32Array[]> {
    const { tf } = this;
    const { wordsLength, perPosition, softmax, featureInput, wordsInput } = this.shapes;
    const pre = this.manifest.decoder.padding === 'pre';
    const batch = prefixes.length;
    const length = wordsLength ?? Math.max(...prefixes.map((p) => p.length));
    const words = new Float32Array(batch * length);
    const positions: number[] = [];
    prefixes.forEach((prefix, b) => {
      const tokens = prefix.slice(-length);
      const offset = pre ? length - tokens.length : 0;
      words.set(tokens, b * length + offset);
      positions.push(b * length + (pre ? length - 1 : tokens.length - 1));
    });
    const vocab = this.vocabulary.size;
    const out = tf.tidy(() => {
      const inputs: Tensor[] = [];
      inputs[featureInput] = tf.tile(features, [batch, 1]);
      inputs[wordsInput] = tf.tensor2d(words, [batch, length]);
      let y = this.decoder!.predict(inputs) as Tensor;
      if (perPosition) y = tf.gather(y.reshape([batch * length, vocab]), tf.tensor1d(positions, 'int32'));
      return softmax ? tf.log(tf.maximum(y, 1e-12)) : tf.logSoftmax(y as Tensor2D);
    });
    const data = (await out.data()) as Float32Array;
    out.dispose();
    return prefixes.map((_, b) => data.subarray(b * vocab, (b + 1) * vocab));
  }

  /** Captions one frame. */
  async caption(frame: Frame, options: CaptionOptions = {}): Promise<Caption> {
    const [result] = await this.captionAll([frame], options);
    return result;
  }

  /** Captions frames one after another, sharing one backbone batch. */
  async captionAll(frames: readonly Frame[], options: CaptionOptions = {}): Promise<Caption[]> {
    if (frames.length === 0) return [];
    const features = this.features(frames);
    try {
      const verdicts = this.domain && (await this.domainVerdicts(frames, features));
      const results: Caption[] = [];
      for (let i = 0; i < frames.length; i++) {
        const one = this.tf.tidy(() => features.slice([i, 0], [1, -1]) as Tensor2D);
        try {
          const caption = this.toCaption(await this.searchFeatures(one, options));
          if (verdicts) {
            const v = verdicts[i]!;
            caption.outOfDomain = v.outOfDomain;
            caption.domainScore = Number(v.score.toFixed(3));
            if (v.check) caption.domainCheck = v.check;
          }
          results.push(caption);
        } finally {
          one.dispose();
        }
      }
      return results;
    } finally {
      features.dispose();
    }
  }

  /** The domain detector's verdicts on frames whose features [n, F] are known. */
  private async domainVerdicts(frames: readonly Frame[], features: Tensor2D) {
    const domain = this.domain!;
    const stats = frames.map((f) => lumaStats(f));
    const stretched = this.features(frames.map((f, i) => stretchContrast(f, stats[i])));
    try {
      const plainRows = (await features.data()) as Float32Array;
      const wideRows = (await stretched.data()) as Float32Array;
      const plain = domain.features.distances(plainRows, frames.length);
      const wide = domain.stretched.distances(wideRows, frames.length);
      const F = domain.featureSize;
      const row = (rows: Float32Array, i: number) => rows.subarray(i * F, (i + 1) * F);
      return frames.map((_, i) => domain.judge(plain[i]!, wide[i]!, stats[i]!.std, domain.jointDistance(row(plainRows, i), row(wideRows, i))));
    } finally {
      stretched.dispose();
    }
  }

  /** Runs caption search on one image's features [1, F]. */
  searchFeatures(features: Tensor2D, options: CaptionOptions = {}): Promise<Hypothesis> {
    if (this.attention) return this.attention.search(features, this.searchOptions(options));
    return search((prefixes) => this.nextLogProbs(features, prefixes), this.searchOptions(options));
  }

  /**
   * Captions frames with an attention decoder and returns, with each caption, where it looked
   * for each word (for heatmaps). Throws for a layers decoder, which has no attention.
   */
  async captionWithAttention(frames: readonly Frame[], options: CaptionOptions = {}): Promise<AttendedCaption[]> {
    const attention = this.attention;
    if (!attention) throw new Error(`captioner ${this.dir}: its decoder has no attention (decoder.kind is "${this.manifest.decoder.kind}")`);
    const features = this.features(frames);
    try {
      const out: AttendedCaption[] = [];
      for (let i = 0; i < frames.length; i++) {
        const one = this.tf.tidy(() => features.slice([i, 0], [1, -1]) as Tensor2D);
        try {
          const h: AttendedHypothesis = await attention.search(one, this.searchOptions(options));
          out.push({ ...this.toCaption(h), words: h.tokens.map((t) => this.vocabulary.decode([t])), alphas: h.alphas, grid: [attention.spec.grid[0], attention.spec.grid[1]] });
        } finally {
          one.dispose();
        }
      }
      return out;
    } finally {
      features.dispose();
    }
  }

  private searchOptions(options: CaptionOptions): SearchOptions {
    const v = this.vocabulary;
    return {
      start: v.start,
      end: v.end,
      maxLength: options.maxLength ?? this.shapes.maxLength,
      beamWidth: options.beamWidth ?? this.manifest.search.beamWidth,
      lengthPenalty: options.lengthPenalty ?? this.manifest.search.lengthPenalty,
      banned: [0, v.start],
      noRepeatNgramSize: options.noRepeatNgramSize ?? 3,
      maxRepeatRun: options.maxRepeatRun ?? 2,
    };
  }

  private toCaption(h: Hypothesis): Caption {
    return { text: this.vocabulary.decode(h.tokens), score: h.logProb / Math.max(1, h.tokens.length + (h.finished ? 1 : 0)) };
  }

  private assertLive(): void {
    if (this.disposed) throw new Error(`captioner ${this.dir} was disposed`);
  }

  /**
   * Writes the backbone's and the decoder's weights to DIR/backbone and DIR/decoder (either
   * decoder kind), replacing what was there; the manifest and vocabulary are the caller's.
   */
  async saveWeights(dir: string): Promise<void> {
    await rm(join(dir, 'backbone'), { recursive: true, force: true });
    await this.backbone.save(fileSaveHandler(this.tf, join(dir, 'backbone')));
    await rm(join(dir, 'decoder'), { recursive: true, force: true });
    if (this.attention) await this.attention.save(join(dir, 'decoder'));
    else await this.decoder!.save(fileSaveHandler(this.tf, join(dir, 'decoder')));
  }

  /** Releases both models; safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.backbone.dispose();
    this.decoder?.dispose();
    this.attention?.dispose();
  }
}
