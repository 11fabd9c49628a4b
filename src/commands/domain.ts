/** `livecap domain`: fits a captioner's out-of-domain detector and reports how well it tells. */
import { writeFile } from 'node:fs/promises';
import { intFlag, numberFlag, parseFlags, wantsHelp } from '../util/flags.js';
import { UsageError } from '../util/usage-error.js';
import { loadTf } from '../models/tfjs/runtime.js';
import { EMBEDDED_CAPTIONER } from '../paths.js';
import { DOMAIN_JOB_DEFAULTS, fitDomain, formatDomainReport } from '../train/fit-domain.js';

const HELP = `usage: livecap domain [--model MODEL_DIR] [--real PATH]… [options]

  Fits the detector that tells when a frame lies beyond what a CNN→LSTM captioner was trained
  on (the synthetic world, for the embedded model), sets its threshold on held-out pictures,
  and writes it into the model folder (domain.json, domain.bin; the manifest names it).
  Captions of frames beyond it then carry "outOfDomain": true.

  --model DIR        captioner directory (default: the embedded model)
  --real PATH        real photos or footage to report on: an image, a video or a folder (repeatable)
  --pictures N       synthetic pictures to fit on (default ${DOMAIN_JOB_DEFAULTS.pictures}, and half as many through JPEG)
  --heldout N        held-out pictures for the threshold (default ${DOMAIN_JOB_DEFAULTS.heldout})
  --quantile Q       share of held-out pictures under the threshold (default ${DOMAIN_JOB_DEFAULTS.quantile})
  --components K     directions of most variance kept (default 64)
  --seed S           seed of the synthetic pictures (default ${DOMAIN_JOB_DEFAULTS.seed})
  --description TEXT the domain in words, for the manifest (default: the synthetic world's)
  --json FILE        also write the report as JSON`;

export async function domainCommand(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, {
    model: { type: 'string' },
    real: { type: 'string', multiple: true },
    pictures: { type: 'string' },
    heldout: { type: 'string' },
    quantile: { type: 'string' },
    components: { type: 'string' },
    seed: { type: 'string' },
    description: { type: 'string' },
    json: { type: 'string' },
  });
  const quantile = numberFlag('quantile', values.quantile, DOMAIN_JOB_DEFAULTS.quantile);
  if (!(quantile > 0 && quantile < 1)) throw new UsageError(`--quantile must be between 0 and 1, got '${values.quantile}'`);
  const positive = (name: string, value: string | undefined, fallback: number) => {
    const n = intFlag(name, value, fallback);
    if (n < 1) throw new UsageError(`--${name} must be at least 1, got '${value}'`);
    return n;
  };
  const { tf } = await loadTf();
  const report = await fitDomain(tf, {
    modelDir: values.model ?? EMBEDDED_CAPTIONER,
    real: values.real,
    pictures: positive('pictures', values.pictures, DOMAIN_JOB_DEFAULTS.pictures),
    heldout: positive('heldout', values.heldout, DOMAIN_JOB_DEFAULTS.heldout),
    components: positive('components', values.components, 64),
    seed: intFlag('seed', values.seed, DOMAIN_JOB_DEFAULTS.seed),
    quantile,
    description: values.description,
  });
  console.log(formatDomainReport(report));
  if (values.json) await writeFile(values.json, JSON.stringify(report, null, 2) + '\n');
  return 0;
}
