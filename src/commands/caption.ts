/** `livecap caption IMAGE…`: one caption per image, from a model running in a worker thread. */
import { dtypeFlag, parseFlags, intFlag, UsageError, wantsHelp } from '../cli.js';
import { CaptionerClient } from '../models/worker/captioner-client.js';
import { readImage } from '../media/image.js';
import { EMBEDDED_CAPTIONER } from '../paths.js';
import { captionerSpecWithDtype } from '../models/captioner/spec.js';
import { MODEL_DTYPES } from '../models/seq2seq/dtype.js';

const HELP = `usage: livecap caption [--model SPEC] [--dtype auto|${MODEL_DTYPES.join('|')}] [--beam-width N] [--json] IMAGE…

  Prints one caption per image (JPEG or PNG), in order: "IMAGE<TAB>caption", or the caption
  alone for a single image. --json prints one JSON object per line with the score.
  SPEC is a CNN→LSTM model folder (default: the embedded one) or onnx:DIR, a vision-encoder-
  decoder ONNX export; --dtype picks which of its ONNX files run (fp16, q8 = *_quantized.onnx,
  int8, uint8, q4…); the default, auto, runs the fp32 files where the folder has them.`;

export async function captionCommand(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values, positionals } = parseFlags(args, { model: { type: 'string' }, dtype: { type: 'string' }, 'beam-width': { type: 'string' }, json: { type: 'boolean' } }, true);
  if (positionals.length === 0) throw new UsageError('expected one or more images: livecap caption IMAGE…');
  const beamWidth = values['beam-width'] === undefined ? undefined : intFlag('beam-width', values['beam-width']);
  const spec = values.model ?? EMBEDDED_CAPTIONER;
  const dtype = dtypeFlag(values.dtype);
  if (dtype !== undefined && !spec.startsWith('onnx:')) throw new UsageError(`--dtype chooses among the files of an ONNX export (--model onnx:DIR); ${spec} is a CNN→LSTM model`);
  const captioner = await CaptionerClient.start(captionerSpecWithDtype(spec, dtype));
  let failures = 0;
  try {
    for (const path of positionals) {
      try {
        const caption = await captioner.caption(await readImage(path), { beamWidth });
        if (values.json) console.log(JSON.stringify({ image: path, caption: caption.text, score: Number(caption.score.toFixed(4)) }));
        else console.log(positionals.length === 1 ? caption.text : `${path}\t${caption.text}`);
      } catch (err) {
        failures++;
        console.error(`livecap: ${(err as Error).message}`);
      }
    }
  } finally {
    await captioner.close();
  }
  return failures > 0 ? 1 : 0;
}
