/** `livecap models pull OWNER/NAME`: a model from the Hugging Face hub into models/. */
import { parseFlags, parsedFlag, wantsHelp } from '../util/flags.js';
import { UsageError } from '../util/usage-error.js';
import { pullModel } from '../models/hub/pull.js';
import { DEFAULT_HUB_ENDPOINT } from '../models/hub/hub-client.js';
import { formatBytes } from '../util/progress.js';
import { MODELS_DIR } from '../paths.js';
import { MODEL_DTYPES, parseDtype } from '../models/seq2seq/dtype.js';

const HELP = `usage: livecap models pull OWNER/NAME [--dtype auto|${MODEL_DTYPES.join('|')}] [--revision REV] [--models-dir DIR] [--endpoint URL]

  Downloads the ONNX export of a hub model (configuration, tokenizer, encoder and decoder)
  into MODELS_DIR/OWNER/NAME (default: the models folder of this install), with a progress
  bar; every file's size and hash are checked against the hub's listing. A download that
  broke off resumes when the command is run again; files already there are not fetched again.

  --dtype picks the variant whose ONNX files are fetched, with the names transformers.js uses:
  fp32 (encoder_model.onnx…), fp16 (*_fp16.onnx), q8 (*_quantized.onnx), int8, uint8, q4,
  q4f16, bnb4. Only that variant is downloaded. The default, auto, is fp32 where the repository
  has it (else the first variant it has of q8, int8, uint8, fp16, q4, q4f16, bnb4). Run the
  model with the same choice: --dtype q8, or ?dtype=q8 after the folder.

  The hub is ${DEFAULT_HUB_ENDPOINT} unless --endpoint or HF_ENDPOINT names a mirror;
  HF_TOKEN is sent for private or gated models.

  examples:
    livecap models pull Xenova/distilbart-cnn-6-6      then: livecap serve --summarizer models/Xenova/distilbart-cnn-6-6
    livecap models pull Xenova/vit-gpt2-image-captioning
    livecap models pull Xenova/distilbart-cnn-6-6 --dtype q8   then: --summarizer models/Xenova/distilbart-cnn-6-6?dtype=q8`;

export async function modelsCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'pull') {
    if (wantsHelp(args, HELP)) return 0;
    throw new UsageError(action ? `unknown models action '${action}' (expected: pull)` : 'expected: livecap models pull OWNER/NAME');
  }
  if (wantsHelp(rest, HELP)) return 0;
  const { values, positionals } = parseFlags(rest, { revision: { type: 'string' }, 'models-dir': { type: 'string' }, endpoint: { type: 'string' }, dtype: { type: 'string' } }, true);
  if (positionals.length !== 1) throw new UsageError('expected one model name: livecap models pull OWNER/NAME');
  const dtype = parsedFlag(values.dtype, (v) => parseDtype(v, '--dtype'));
  const result = await pullModel(positionals[0]!, { modelsDir: values['models-dir'] ?? MODELS_DIR, revision: values.revision, endpoint: values.endpoint, dtype });
  for (const f of result.files) console.log(`${f.status.padEnd(10)} ${formatBytes(f.size).padStart(9)}  ${f.path}`);
  console.log(`${positionals[0]} (${result.dtype}) is in ${result.dir} (${formatBytes(result.bytes)} downloaded)`);
  return 0;
}
