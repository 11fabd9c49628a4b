/** `livecap caption IMAGE…`: one caption per image, from a model running in a worker thread. */
import { intFlag, parseFlags, parsedFlag, wantsHelp } from '../util/flags.js';
import { UsageError } from '../util/usage-error.js';
import { CaptionerClient } from '../models/worker/captioner-client.js';
import { readImage } from '../media/image.js';
import { EMBEDDED_CAPTIONER } from '../paths.js';
import { captionerSpecWithDtype } from '../models/captioner/spec.js';
import { MODEL_DTYPES, parseDtype } from '../models/seq2seq/dtype.js';

const HELP = `usage: livecap caption [--model SPEC] [--task TASK] [--dtype auto|${MODEL_DTYPES.join('|')}] [--beam-width N] [--json] IMAGE…

  Prints one caption per image (JPEG or PNG), in order: "IMAGE<TAB>caption", or the caption
  alone for a single image. --json prints one JSON object per line with the score.

  SPEC is a CNN→LSTM model folder (default: the embedded one), onnx:DIR for a Hugging Face ONNX
  export (a vision-encoder-decoder such as ViT-GPT2), or a Florence-2 export's folder.
  --task (Florence-2 only) is <CAPTION> (the default), <DETAILED_CAPTION> or
  <MORE_DETAILED_CAPTION>, or a prompt of your own. --dtype picks which of an ONNX export's
  files run (fp16, q8 = *_quantized.onnx, int8, uint8, q4…); the default, auto, runs the fp32
  files where the folder has them.

  A model with a domain detector (the embedded one has) also tells when a picture lies beyond
  what it was trained on: such captions end with "[out of domain]" (--json: "outOfDomain": true,
  "domainScore", how far beyond its threshold, and "domainCheck": features, stretched (seen at
  full contrast), joint (both views together) or flat), and their words mean nothing.`;

export async function captionCommand(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values, positionals } = parseFlags(
    args,
    { model: { type: 'string' }, task: { type: 'string' }, dtype: { type: 'string' }, 'beam-width': { type: 'string' }, json: { type: 'boolean' } },
    true,
  );
  if (positionals.length === 0) throw new UsageError('expected one or more images: livecap caption IMAGE…');
  const beamWidth = values['beam-width'] === undefined ? undefined : intFlag('beam-width', values['beam-width']);
  const task = values.task;
  const spec = values.model ?? EMBEDDED_CAPTIONER;
  const dtype = parsedFlag(values.dtype, (v) => parseDtype(v, '--dtype'));
  if (dtype !== undefined && !spec.startsWith('onnx:')) throw new UsageError(`--dtype chooses among the files of an ONNX export (--model onnx:DIR); ${spec} is a CNN→LSTM model`);
  const captioner = await CaptionerClient.start(captionerSpecWithDtype(spec, dtype));
  let failures = 0;
  try {
    if (task !== undefined && captioner.info.task === undefined) throw new UsageError(`--task is for Florence-2 models; ${values.model ?? 'the embedded captioner'} takes no task`);
    let explained = false;
    for (const path of positionals) {
      try {
        const caption = await captioner.caption(await readImage(path), { beamWidth, prompt: task });
        if (values.json) {
          console.log(
            JSON.stringify({
              image: path,
              caption: caption.text,
              score: Number(caption.score.toFixed(4)),
              outOfDomain: caption.outOfDomain,
              domainScore: caption.domainScore,
              domainCheck: caption.domainCheck,
            }),
          );
        } else {
          const text = caption.outOfDomain ? `${caption.text} [out of domain]` : caption.text;
          console.log(positionals.length === 1 ? text : `${path}\t${text}`);
        }
        if (caption.outOfDomain && !explained) {
          explained = true;
          console.error(`livecap: ${path} is beyond what this captioner knows, so its caption means nothing. ${captioner.info.domain ?? ''}`.trim());
        }
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
