/** What every model built on the encoder-decoder engine tells about itself (text, image and Florence-2 models). */
import type { EncoderDecoder } from './encoder-decoder.js';
import type { ModelDtype } from './dtype.js';

export abstract class Seq2SeqModel {
  protected constructor(protected readonly model: EncoderDecoder) {}

  /** Which execution provider the sessions run on. */
  get provider(): string {
    return this.model.provider;
  }

  /** The variant whose ONNX files run (fp32, q8…). */
  get dtype(): ModelDtype {
    return this.model.dtype;
  }

  get vocabularySize(): number {
    return this.model.vocabSize;
  }

  get dir(): string {
    return this.model.files.dir;
  }
}
