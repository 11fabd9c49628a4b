/** `livecap summarize`: captions on stdin, one per line, in; one summary sentence out. */
import { existsSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { intFlag, numberFlag, parseFlags, parsedFlag, wantsHelp } from '../util/flags.js';
import { collapseRepeats } from '../pipeline/operators/rolling-window.js';
import { SummarizerClient } from '../models/worker/summarizer-client.js';
import { EMBEDDED_SUMMARIZER } from '../paths.js';
import { MODEL_DTYPES, withDtype, parseDtype } from '../models/seq2seq/dtype.js';

const HELP = `usage: livecap summarize [--model MODEL_DIR] [--dtype auto|${MODEL_DTYPES.join('|')}] [--beams N] [--min-length N] [--max-length N] [--length-penalty X] [--json] < captions.txt

  Reads captions, one per line, collapses repeats, and prints the model's summary.
  MODEL_DIR is a Hugging Face ONNX export (BART, DistilBART; see README); the default is the
  embedded summarizer. --dtype picks which of its ONNX files run (fp16, q8 = *_quantized.onnx,
  int8, uint8, q4…); the default, auto, runs the fp32 files where the folder has them.
  Generation options default to the model's generation_config.json.
  --json also prints the input and output token counts and the time taken.`;

export async function summarizeCommand(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, {
    model: { type: 'string' },
    beams: { type: 'string' },
    'min-length': { type: 'string' },
    'max-length': { type: 'string' },
    'length-penalty': { type: 'string' },
    json: { type: 'boolean' },
    dtype: { type: 'string' },
  });
  const modelDir = values.model ?? EMBEDDED_SUMMARIZER;
  const dtype = parsedFlag(values.dtype, (v) => parseDtype(v, '--dtype'));
  if (!values.model && !existsSync(modelDir)) throw new Error(`the embedded summarizer is missing (${modelDir}); pass --model DIR`);
  const optional = (name: string, v: string | undefined) => (v === undefined ? undefined : intFlag(name, v));
  const overrides = {
    numBeams: optional('beams', values.beams),
    minLength: optional('min-length', values['min-length']),
    maxLength: optional('max-length', values['max-length']),
    lengthPenalty: values['length-penalty'] === undefined ? undefined : numberFlag('length-penalty', values['length-penalty'], 1),
  };
  const summarizer = await SummarizerClient.start(withDtype(modelDir, dtype), overrides);
  try {
    const captions = collapseRepeats((await text(process.stdin)).split('\n'));
    if (captions.length === 0) throw new Error('no captions on stdin (one per line)');
    const summary = await summarizer.summarize(captions);
    if (values.json) console.log(JSON.stringify({ summary: summary.text, captions: captions.length, inputTokens: summary.inputTokens, tokens: summary.tokens, ms: Math.round(summary.ms) }));
    else console.log(summary.text);
  } finally {
    await summarizer.close();
  }
  return 0;
}
