/**
 * `livecap models pull OWNER/NAME`: the files of a hub model that livecap runs, into
 * models/OWNER/NAME, checked and ready for `--summarizer` or `--captioner onnx:`.
 *
 * Only what the engine reads is fetched (the configuration and tokenizer JSON files and the
 * ONNX encoder and decoder of one variant, the merged decoder when there is one, with their
 * external data files, and for Florence-2 the vision encoder and token embedding), not the PyTorch weights or the other variants that such repositories
 * also hold. The variant is the `dtype` option (seq2seq/dtype.ts): auto takes fp32 where the
 * repository has it. Files already present with the listed size and hash are skipped, so
 * pulling again updates only what changed.
 */
import { join } from 'node:path';
import { HubClient, HubError, type HubFile, type HubOptions } from './hub-client.js';
import { downloadFile, isUpToDate } from './download.js';
import { Progress } from '../../util/progress.js';
import { log } from '../../util/log.js';
import { chooseVariant, florenceFiles, missingExportFiles, type ChosenVariant, type DtypeChoice, type ModelDtype } from '../seq2seq/dtype.js';

const CONFIG_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json', 'special_tokens_map.json'];

/**
 * The files of a listing that livecap needs for the `dtype` variant, and which variant that is;
 * an error when the repository has no ONNX export, or not the variant asked for.
 */
export function selectFiles(repo: string, files: readonly HubFile[], dtype: DtypeChoice = 'auto'): { dtype: ModelDtype; files: HubFile[] } {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const onnx = (name: string) => byPath.get(`onnx/${name}`) ?? byPath.get(name);
  // The same rules that decide whether a folder on disk is complete, and which variant loads.
  let variant: ChosenVariant<HubFile> | undefined;
  try {
    variant = chooseVariant(onnx, dtype, { model: repo, onnxFiles: files.map((f) => f.path).filter((p) => p.endsWith('.onnx')), hint: 'Choose one with --dtype' });
  } catch (err) {
    throw new HubError((err as Error).message);
  }
  if (!variant || !byPath.has('config.json')) {
    const missing = [...(byPath.has('config.json') ? [] : ['config.json']), ...(variant ? [] : missingExportFiles(onnx))];
    throw new HubError(`${repo} has no ONNX export that livecap can run: missing ${missing.join(', ')}; look for a copy of the model converted to ONNX (for example under Xenova/ or onnx-community/)`);
  }
  const { encoder, decoder } = variant;
  // A Florence-2 export's image encoder and token embedding (absent from other exports).
  const { visionEncoder, embedTokens } = florenceFiles(onnx, variant.dtype);
  const models = [...[visionEncoder, embedTokens].filter((f): f is HubFile => f !== undefined), encoder, ...(decoder.kind === 'split' ? [decoder.path, decoder.withPastPath] : [decoder.path])];
  // Models over 2 GB keep their weights in external data files beside them (NAME.onnx_data,
  // NAME.onnx_data_1…), which onnxruntime reads from the model's folder.
  const data = (model: HubFile) => files.filter((f) => f.path === `${model.path}_data` || f.path.startsWith(`${model.path}_data_`));
  return { dtype: variant.dtype, files: [...CONFIG_FILES.flatMap((p) => byPath.get(p) ?? []), ...models.flatMap((m) => [m, ...data(m)])] };
}

export interface PullOptions extends HubOptions {
  /** The folder that holds models; the model goes into MODELS_DIR/OWNER/NAME. */
  modelsDir: string;
  /** Which variant's ONNX files to fetch; default auto: fp32 where the repository has it. */
  dtype?: DtypeChoice;
}

export interface PullResult {
  dir: string;
  /** The variant fetched. */
  dtype: ModelDtype;
  files: { path: string; size: number; status: 'downloaded' | 'resumed' | 'up to date' }[];
  bytes: number;
}

export async function pullModel(repo: string, options: PullOptions): Promise<PullResult> {
  HubClient.checkRepoName(repo);
  const client = new HubClient(options);
  const dir = join(options.modelsDir, ...repo.split('/'));
  const { dtype, files } = selectFiles(repo, await client.listFiles(repo), options.dtype);
  const total = files.reduce((n, f) => n + f.size, 0);
  log.info('pulling model', { repo, endpoint: client.endpoint, revision: client.revision, dtype, files: files.length, bytes: total, into: dir });
  const result: PullResult = { dir, dtype, files: [], bytes: 0 };
  for (const file of files) {
    const dest = join(dir, file.path);
    if (await isUpToDate(dest, file)) {
      result.files.push({ path: file.path, size: file.size, status: 'up to date' });
      continue;
    }
    const bar = new Progress({ label: file.path, total: file.size, unit: 'bytes' });
    const { resumedFrom } = await downloadFile(client, repo, file, dest, (n) => bar.tick(n));
    bar.finish();
    result.bytes += file.size - resumedFrom;
    result.files.push({ path: file.path, size: file.size, status: resumedFrom > 0 ? 'resumed' : 'downloaded' });
  }
  return result;
}
