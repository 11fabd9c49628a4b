/** Where the project's own files are, wherever livecap is run from. */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

/** The package root (this file compiles to dist/src/paths.js). */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The embedded default captioner, trained on the synthetic world (see README). */
/** Where `livecap models pull` puts models: models/OWNER/NAME. */
export const MODELS_DIR = join(PROJECT_ROOT, 'models');

export const EMBEDDED_CAPTIONER = join(PROJECT_ROOT, 'models', 'captioner-synth');
/** The embedded default summarizer: a small BART trained on the synthetic world (see README). */
export const EMBEDDED_SUMMARIZER = join(PROJECT_ROOT, 'models', 'summarizer-synth');

/** livecap's version, as package.json gives it. */
export const LIVECAP_VERSION: string = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
