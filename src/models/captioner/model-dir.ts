/**
 * The captioner model directory: a manifest naming a backbone (image → feature vector), a
 * decoder (features + word prefix → next word) and a vocabulary, all in formats that other
 * tools write (TensorFlow.js layers models, a Keras word index).
 *
 *   MODEL_DIR/captioner.json
 *   {
 *     "backbone":   { "model": "backbone/model.json", "pixelScale": "-1..1" },
 *     "decoder":    { "model": "decoder/model.json", "padding": "pre" },
 *     "vocabulary": "vocab.json",
 *     "tokens":     { "start": "startseq", "end": "endseq" },
 *     "search":     { "beamWidth": 3, "maxLength": 34 },
 *     "domain":     { "description": "what the model was trained on, in words", "detector": "domain.json" }
 *   }
 *
 * Only the three paths are required; the rest has the defaults below.
 *
 * `decoder.kind` says what the decoder file is:
 *  - "layers" (the default): a TensorFlow.js layers model over a pooled feature vector and the
 *    words, as Keras "merge" and "inject" captioners are; `decoder.model` is its model.json;
 *  - "attention": livecap's attention decoder over the backbone's spatial feature map (see
 *    attention.ts); `decoder.model` is its attention.json, e.g.
 *      "decoder": { "kind": "attention", "model": "decoder/attention.json", "maxLength": 21 }
 *
 * `domain.detector` names an out-of-domain detector (domain.ts) written by `livecap domain`;
 * without one, captions carry no out-of-domain flag.
 */
import { readJsonFile } from '../../util/json-file.js';
import { join } from 'node:path';
import { DEFAULT_TOKENS, type TokenNames } from './vocabulary.js';

export const MANIFEST_FILE = 'captioner.json';

/**
 * How pixels are scaled for the backbone, as Keras' `preprocess_input` does per family:
 *  - "0..1": x / 255 (the embedded model)
 *  - "-1..1": x / 127.5 − 1 (Xception, Inception, MobileNet: mode "tf")
 *  - "caffe": RGB → BGR, minus the ImageNet channel means (VGG16, ResNet50)
 *  - "torch": x / 255, then ImageNet mean and standard deviation per channel
 */
export type PixelScale = '0..1' | '-1..1' | 'caffe' | 'torch';
const PIXEL_SCALES: readonly PixelScale[] = ['0..1', '-1..1', 'caffe', 'torch'];

export interface CaptionerManifest {
  backbone: { model: string; pixelScale: PixelScale };
  decoder: {
    /** "layers" (a layers model, the default) or "attention" (attention.ts). */
    kind: DecoderKind;
    model: string;
    /** Where padding goes in a fixed-length word input: Keras' pad_sequences default is "pre". */
    padding: 'pre' | 'post';
    /** Longest caption in tokens when the decoder's word input has no fixed length. */
    maxLength?: number;
  };
  vocabulary: string;
  tokens: TokenNames;
  search: { beamWidth: number; lengthPenalty: number; maxLength?: number };
  /** What the model knows, in words, and the detector that tells when a frame is beyond it. */
  domain?: { description?: string; detector?: string };
}

export type DecoderKind = 'layers' | 'attention';
const DECODER_KINDS: readonly DecoderKind[] = ['layers', 'attention'];

export const MANIFEST_DEFAULTS = {
  pixelScale: '0..1' as PixelScale,
  padding: 'pre' as const,
  beamWidth: 3,
  lengthPenalty: 1,
};

/** Validates a parsed manifest, listing every problem at once. */
export function parseManifest(json: unknown, file: string): CaptionerManifest {
  const errors: string[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: every field is checked below before it is used
  const obj = (json && typeof json === 'object' ? json : {}) as Record<string, any>;
  if (!json || typeof json !== 'object') errors.push('expected a JSON object');
  const str = (v: unknown, name: string): string => {
    if (typeof v !== 'string' || v === '') errors.push(`${name} must be a path string`);
    return String(v);
  };
  const backbone = obj.backbone ?? {};
  const decoder = obj.decoder ?? {};
  const search = obj.search ?? {};
  const pixelScale = backbone.pixelScale ?? MANIFEST_DEFAULTS.pixelScale;
  if (!PIXEL_SCALES.includes(pixelScale)) errors.push(`backbone.pixelScale must be one of ${PIXEL_SCALES.join(', ')}, got ${JSON.stringify(pixelScale)}`);
  const kind = decoder.kind ?? 'layers';
  if (!DECODER_KINDS.includes(kind)) errors.push(`decoder.kind must be one of ${DECODER_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  const padding = decoder.padding ?? MANIFEST_DEFAULTS.padding;
  if (padding !== 'pre' && padding !== 'post') errors.push(`decoder.padding must be "pre" or "post", got ${JSON.stringify(padding)}`);
  const positiveInt = (v: unknown, name: string) => {
    if (v !== undefined && !(Number.isInteger(v) && (v as number) > 0)) errors.push(`${name} must be a positive whole number, got ${JSON.stringify(v)}`);
  };
  positiveInt(decoder.maxLength, 'decoder.maxLength');
  positiveInt(search.beamWidth, 'search.beamWidth');
  positiveInt(search.maxLength, 'search.maxLength');
  if (search.lengthPenalty !== undefined && typeof search.lengthPenalty !== 'number') errors.push('search.lengthPenalty must be a number');
  const domain = obj.domain;
  if (domain !== undefined) {
    if (!domain || typeof domain !== 'object' || Array.isArray(domain)) errors.push('domain must be an object with a description and a detector file');
    else {
      if (domain.description !== undefined && typeof domain.description !== 'string') errors.push('domain.description must be a string');
      if (domain.detector !== undefined) str(domain.detector, 'domain.detector');
    }
  }
  const tokens = { ...DEFAULT_TOKENS, ...(obj.tokens ?? {}) };
  const manifest: CaptionerManifest = {
    backbone: { model: str(backbone.model, 'backbone.model'), pixelScale },
    decoder: { kind, model: str(decoder.model, 'decoder.model'), padding, maxLength: decoder.maxLength },
    vocabulary: str(obj.vocabulary, 'vocabulary'),
    tokens,
    search: {
      beamWidth: search.beamWidth ?? MANIFEST_DEFAULTS.beamWidth,
      lengthPenalty: search.lengthPenalty ?? MANIFEST_DEFAULTS.lengthPenalty,
      maxLength: search.maxLength,
    },
    ...(domain && typeof domain === 'object' ? { domain: { description: domain.description, detector: domain.detector } } : {}),
  };
  if (errors.length) throw new Error(`${file}: ${errors.join('; ')}`);
  return manifest;
}

export async function readManifest(dir: string): Promise<CaptionerManifest> {
  const file = join(dir, MANIFEST_FILE);
  const json = await readJsonFile(file, `captioner manifest (${MANIFEST_FILE} names the backbone, decoder and vocabulary of a captioner directory)`);
  return parseManifest(json, file);
}
