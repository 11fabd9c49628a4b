/**
 * An image captioner from a Hugging Face vision-encoder-decoder ONNX export (ViT-GPT2 and the
 * like): preprocessor_config.json says how pixels are prepared, the vision encoder reads
 * `pixel_values` [1, 3, H, W], and the text decoder is searched as for any seq2seq model.
 *
 *   const model = await ImageSeq2Seq.open('models/Xenova/vit-gpt2-image-captioning');
 *   const { text } = await model.caption(frame);
 *
 * Run it in a worker thread (onnx-captioner-worker.ts): inference blocks the thread.
 */
import type { GenerationOverrides } from './generation-config.js';
import { EncoderDecoder, type OpenOptions } from './encoder-decoder.js';
import { Seq2SeqModel } from './seq2seq-model.js';
import type { Generated } from './search.js';
import { imageProcessor, type ImageProcessor } from '../vision/image-processor.js';
import type { Frame } from '../../core/frame.js';

export class ImageSeq2Seq extends Seq2SeqModel {
  private constructor(
    model: EncoderDecoder,
    readonly processor: ImageProcessor,
  ) {
    super(model);
  }

  static async open(dir: string, options: OpenOptions = {}): Promise<ImageSeq2Seq> {
    const model = await EncoderDecoder.open(dir, 'pixel_values', options);
    try {
      const processor = imageProcessor(model.files.preprocessor!, `${dir}/preprocessor_config.json`);
      const dims = model.encoder.inputDims.pixel_values;
      const fixed = (i: number) => (typeof dims?.[i] === 'number' ? (dims[i] as number) : undefined);
      if ((fixed(2) !== undefined && fixed(2) !== processor.height) || (fixed(3) !== undefined && fixed(3) !== processor.width)) {
        throw new Error(`${model.encoder.path}: the encoder takes ${fixed(3)}×${fixed(2)} images, preprocessor_config.json makes ${processor.width}×${processor.height}`);
      }
      return new ImageSeq2Seq(model, processor);
    } catch (err) {
      await model.release();
      throw err;
    }
  }

  async caption(frame: Frame, overrides: GenerationOverrides = {}): Promise<Generated & { text: string }> {
    const { width, height } = this.processor;
    const pixels = { type: 'float32' as const, data: this.processor.toPixelValues(frame), dims: [1, 3, height, width] };
    return this.model.generate({ pixel_values: pixels }, undefined, overrides);
  }

  release(): Promise<void> {
    return this.model.release();
  }
}
