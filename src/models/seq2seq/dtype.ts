/**
 * Which variant of a Hugging Face ONNX export to run: the `dtype` option, named and mapped to
 * files exactly as transformers.js does, so that a folder laid out for transformers.js loads
 * the same files here:
 *
 *   fp32   onnx/encoder_model.onnx            q4     onnx/encoder_model_q4.onnx
 *   fp16   onnx/encoder_model_fp16.onnx       q4f16  onnx/encoder_model_q4f16.onnx
 *   q8     onnx/encoder_model_quantized.onnx  bnb4   onnx/encoder_model_bnb4.onnx
 *   int8   onnx/encoder_model_int8.onnx
 *   uint8  onnx/encoder_model_uint8.onnx      (and the same suffix on every decoder file)
 *
 * `auto`, the default, takes fp32 when the folder (or the hub repository) has it: that is what
 * transformers.js runs on a CPU in Node, and the outputs are the export's own. Where there is
 * no fp32 file, it takes the first complete variant in the order of AUTO_ORDER (the 8-bit ones
 * first: they were made for CPUs and stay closest to fp32) and logs which. A variant that is
 * asked for by name and missing is an error that lists the variants and files that are there;
 * nothing falls back silently.
 *
 * A model spec names its variant with a `?dtype=` suffix: `models/Xenova/distilbart-cnn-6-6?dtype=q8`
 * or `onnx:models/Xenova/vit-gpt2-image-captioning?dtype=q8`.
 */
export type DecoderLayout<T = string> = { kind: 'merged'; path: T } | { kind: 'split'; path: T; withPastPath: T } | { kind: 'uncached'; path: T };

/**
 * Which ONNX files make the model, by model-dir.ts's rules (merged decoder, else the split
 * pair, else the plain decoder), whatever `find` looks in (a folder on disk, or a hub listing
 * before anything is downloaded); undefined where none fits.
 */
export function onnxLayout<T>(find: (name: string) => T | undefined): { encoder?: T; decoder?: DecoderLayout<T> } {
  const merged = find('decoder_model_merged.onnx');
  const plain = find('decoder_model.onnx');
  const withPast = find('decoder_with_past_model.onnx');
  const decoder: DecoderLayout<T> | undefined = merged
    ? { kind: 'merged', path: merged }
    : plain && withPast
      ? { kind: 'split', path: plain, withPastPath: withPast }
      : plain
        ? { kind: 'uncached', path: plain }
        : undefined;
  return { encoder: find('encoder_model.onnx'), decoder };
}

export const MODEL_DTYPES = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'] as const;
export type ModelDtype = (typeof MODEL_DTYPES)[number];
export type DtypeChoice = ModelDtype | 'auto';

/** transformers.js's DEFAULT_DTYPE_SUFFIX_MAPPING. */
export const DTYPE_SUFFIX: Readonly<Record<ModelDtype, string>> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

/** What `auto` tries, in order, until one variant is complete. */
export const AUTO_ORDER: readonly ModelDtype[] = ['fp32', 'q8', 'int8', 'uint8', 'fp16', 'q4', 'q4f16', 'bnb4'];

/** The option's value checked; `where` names the flag or field in the error. */
export function parseDtype(value: string, where: string): DtypeChoice {
  if (value === 'auto' || (MODEL_DTYPES as readonly string[]).includes(value)) return value as DtypeChoice;
  throw new Error(`${where}: unknown dtype '${value}' (expected auto, ${MODEL_DTYPES.join(', ')})`);
}

const SPEC_DTYPE = /\?dtype=([^?/]*)$/;

/**
 * A model spec split into its folder and the dtype it names, if any.
 *
 *   splitModelSpec('models/bart?dtype=q8')   // { dir: 'models/bart', dtype: 'q8' }
 *   splitModelSpec('models/bart')            // { dir: 'models/bart' }
 */
export function splitModelSpec(spec: string): { dir: string; dtype?: DtypeChoice } {
  const m = SPEC_DTYPE.exec(spec);
  if (!m) return { dir: spec };
  return { dir: spec.slice(0, m.index), dtype: parseDtype(m[1]!, spec) };
}

/** `spec` with `dtype` added, unless the spec names one already (the spec's own wins). */
export function withDtype(spec: string, dtype: DtypeChoice | undefined): string {
  if (!dtype || SPEC_DTYPE.test(spec)) return spec;
  return `${spec}?dtype=${dtype}`;
}

export interface ChosenVariant<T> {
  dtype: ModelDtype;
  encoder: T;
  decoder: DecoderLayout<T>;
}

/** The files of one variant, or undefined where that variant is incomplete. */
function variantFiles<T>(find: (name: string) => T | undefined, dtype: ModelDtype): ChosenVariant<T> | undefined {
  const suffix = DTYPE_SUFFIX[dtype];
  const { encoder, decoder } = onnxLayout((name) => find(name.replace(/\.onnx$/, `${suffix}.onnx`)));
  return encoder && decoder ? { dtype, encoder, decoder } : undefined;
}

/** Every variant that `find` sees complete, in AUTO_ORDER. */
export function availableDtypes<T>(find: (name: string) => T | undefined): ModelDtype[] {
  return AUTO_ORDER.filter((d) => variantFiles(find, d));
}

/**
 * The variant to load for `choice`, from whatever `find` looks in (a folder, a hub listing).
 * Undefined for `auto` when no variant is complete (the caller names the missing files);
 * an error for a named variant that is missing, listing what is there.
 */
export function chooseVariant<T>(find: (name: string) => T | undefined, choice: DtypeChoice, where: { model: string; onnxFiles: readonly string[]; hint?: string }): ChosenVariant<T> | undefined {
  if (choice === 'auto') {
    for (const d of AUTO_ORDER) {
      const v = variantFiles(find, d);
      if (v) return v;
    }
    return undefined;
  }
  const chosen = variantFiles(find, choice);
  if (chosen) return chosen;
  const suffix = DTYPE_SUFFIX[choice];
  const present = availableDtypes(find);
  throw new Error(
    `${where.model} has no ${choice} variant (it needs onnx/encoder_model${suffix}.onnx and onnx/decoder_model_merged${suffix}.onnx or onnx/decoder_model${suffix}.onnx); ` +
      `variants there: ${present.join(', ') || 'none'}; ONNX files there: ${where.onnxFiles.join(', ') || 'none'}. ` +
      (where.hint ?? `Choose one with --dtype, or ?dtype=NAME after the model folder, or pull the variant with livecap models pull --dtype ${choice}`),
  );
}

/**
 * A Florence-2 export's vision encoder and token embedding for a variant: that variant's files
 * where the export has them, else the fp32 ones (exports often keep these small ones in fp32).
 */
export function florenceFiles<T>(find: (name: string) => T | undefined, dtype: ModelDtype): { visionEncoder?: T; embedTokens?: T } {
  const pick = (name: string) => find(name.replace(/\.onnx$/, `${DTYPE_SUFFIX[dtype]}.onnx`)) ?? find(name);
  return { visionEncoder: pick('vision_encoder.onnx'), embedTokens: pick('embed_tokens.onnx') };
}

/** The fp32 files that a folder or listing lacks, named for an error, when no variant is complete. */
export function missingExportFiles<T>(find: (name: string) => T | undefined): string[] {
  const { encoder, decoder } = onnxLayout(find);
  return [...(encoder ? [] : ['onnx/encoder_model.onnx']), ...(decoder ? [] : ['onnx/decoder_model_merged.onnx (or onnx/decoder_model.onnx)'])];
}
