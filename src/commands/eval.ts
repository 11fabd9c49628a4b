/** `livecap eval`: BLEU-1..4 and CIDEr-D of a captioner on a dataset split. */
import { writeFile } from 'node:fs/promises';
import { intFlag, parseFlags, requiredFlag, wantsHelp } from '../util/flags.js';
import { UsageError } from '../util/usage-error.js';
import { loadTf } from '../models/tfjs/runtime.js';
import { evaluateCaptioner, formatReport } from '../train/evaluate.js';
import { EMBEDDED_CAPTIONER } from '../paths.js';
import type { Split } from '../train/caption-dataset.js';

const HELP = `usage: livecap eval --dataset DIR [--model MODEL_DIR] [options]

  --dataset DIR     Flickr8k layout (see livecap train --help)
  --model DIR       captioner directory (default: the embedded model)
  --split S         test | val | train | all (default test; 'all' for a held-out dataset)
  --beam-width N    1 for greedy search (default: the model's own setting)
  --limit N         evaluate at most N images
  --json FILE       also write the report as JSON
  --heatmaps FILE   where an attention decoder's heatmaps go (default MODEL_DIR/attention.png)
  --no-heatmaps     draw none

  On synthetic datasets the report includes, per scene kind (single, pair, triple, group), the
  share of captions that name exactly the scene's objects (colour, shape and how many).`;

export async function evalCommand(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, {
    dataset: { type: 'string' },
    model: { type: 'string' },
    split: { type: 'string' },
    'beam-width': { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'string' },
    heatmaps: { type: 'string' },
    'no-heatmaps': { type: 'boolean' },
  });
  const split = values.split ?? 'test';
  if (!['test', 'val', 'train', 'all'].includes(split)) throw new UsageError(`--split must be test, val, train or all, got '${split}'`);
  const { tf } = await loadTf();
  const report = await evaluateCaptioner(tf, {
    datasetDir: requiredFlag('dataset', values.dataset),
    modelDir: values.model ?? EMBEDDED_CAPTIONER,
    split: split as Split | 'all',
    beamWidth: values['beam-width'] === undefined ? undefined : intFlag('beam-width', values['beam-width']),
    limit: values.limit === undefined ? undefined : intFlag('limit', values.limit),
    heatmaps: values['no-heatmaps'] ? null : values.heatmaps,
  });
  console.log(formatReport(report));
  if (values.json) await writeFile(values.json, JSON.stringify(report, null, 2) + '\n');
  return 0;
}
