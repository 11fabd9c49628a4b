/**
 * `livecap models pull OWNER/NAME`: the files of a hub model that livecap runs, into
 * models/OWNER/NAME, checked and ready for `--summarizer` or `--captioner onnx:`.
 *
 * Only what the engine reads is fetched (the configuration and tokenizer JSON files and the
 * ONNX encoder and decoder, the merged decoder when there is one, and for Florence-2 the
 * vision encoder and token embedding), not the PyTorch weights or
 * the quantized variants that such repositories also hold. Files already present with the
 * listed size and hash are skipped, so pulling again updates only what changed.
 */
import { join } from 'node:path';
import { HubClient, HubError, type HubFile, type HubOptions } from './hub-client.js';
import { downloadFile, isUpToDate } from './download.js';
import { Progress } from '../../util/progress.js';
import { log } from '../../util/log.js';
import { onnxLayout } from '../seq2seq/model-dir.js';

const CONFIG_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json', 'special_tokens_map.json'];

/** The files of a listing that livecap needs; an error when the repository has no ONNX export. */
export function selectFiles(repo: string, files: readonly HubFile[]): HubFile[] {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const onnx = (name: string) => byPath.get(`onnx/${name}`) ?? byPath.get(name);
  // The same rules that decide whether a folder on disk is complete.
  const { encoder, decoder, visionEncoder, embedTokens } = onnxLayout(onnx);
  const decoders = !decoder ? [] : decoder.kind === 'split' ? [decoder.path, decoder.withPastPath] : [decoder.path];
  if (!encoder || decoders.length === 0 || !byPath.has('config.json')) {
    const missing = [!byPath.has('config.json') && 'config.json', !encoder && 'onnx/encoder_model.onnx', decoders.length === 0 && 'onnx/decoder_model_merged.onnx (or onnx/decoder_model.onnx)'].filter(Boolean);
    throw new HubError(`${repo} has no ONNX export that livecap can run: missing ${missing.join(', ')}; look for a copy of the model converted to ONNX (for example under Xenova/ or onnx-community/)`);
  }
  // A Florence-2 export's image encoder and token embedding (absent from other exports).
  const extra = [visionEncoder, embedTokens].filter((f): f is HubFile => f !== undefined);
  return [...CONFIG_FILES.flatMap((p) => byPath.get(p) ?? []), ...extra, encoder, ...decoders];
}

export interface PullOptions extends HubOptions {
  /** The folder that holds models; the model goes into MODELS_DIR/OWNER/NAME. */
  modelsDir: string;
}

export interface PullResult {
  dir: string;
  files: { path: string; size: number; status: 'downloaded' | 'resumed' | 'up to date' }[];
  bytes: number;
}

export async function pullModel(repo: string, options: PullOptions): Promise<PullResult> {
  HubClient.checkRepoName(repo);
  const client = new HubClient(options);
  const dir = join(options.modelsDir, ...repo.split('/'));
  const files = selectFiles(repo, await client.listFiles(repo));
  const total = files.reduce((n, f) => n + f.size, 0);
  log.info('pulling model', { repo, endpoint: client.endpoint, revision: client.revision, files: files.length, bytes: total, into: dir });
  const result: PullResult = { dir, files: [], bytes: 0 };
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
