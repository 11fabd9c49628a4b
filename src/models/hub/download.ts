/**
 * One file from the hub onto disk, safely:
 * - it is written to `FILE.incomplete` and renamed into place only once its size and hash
 *   match what the hub listed, so a half-written file never passes for a model file;
 * - a download that broke off resumes from the bytes already there (`Range: bytes=N-`); a
 *   server that ignores the range sends the whole file again, which is then used instead;
 * - the hash is sha256 for files stored with Git LFS and the git blob sha1 for the others.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HubError, type HubClient, type HubFile } from './hub-client.js';

/** A running hash of the file's content in the form the hub lists it. */
function contentHash(file: HubFile): { hash: Hash; expected: string; kind: string } | undefined {
  if (file.sha256) return { hash: createHash('sha256'), expected: file.sha256, kind: 'sha256' };
  if (file.gitOid) {
    const hash = createHash('sha1');
    hash.update(`blob ${file.size}\0`);
    return { hash, expected: file.gitOid, kind: 'git sha1' };
  }
  return undefined;
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

/** Whether a file on disk already is the listed one (size, then hash). */
export async function isUpToDate(path: string, file: HubFile): Promise<boolean> {
  if (!existsSync(path) || (await stat(path)).size !== file.size) return false;
  const check = contentHash(file);
  if (!check) return true;
  await hashFile(path, check.hash);
  return check.hash.digest('hex') === check.expected;
}

export interface DownloadResult {
  /** Bytes that were already on disk from an earlier, broken-off download. */
  resumedFrom: number;
}

export async function downloadFile(client: HubClient, repo: string, file: HubFile, dest: string, onBytes: (n: number) => void): Promise<DownloadResult> {
  await mkdir(dirname(dest), { recursive: true });
  const partial = `${dest}.incomplete`;
  let have = existsSync(partial) ? (await stat(partial)).size : 0;
  if (have >= file.size) {
    // Complete but never verified (or too long): the range would be empty; start over.
    await rm(partial);
    have = 0;
  }
  const url = client.fileUrl(repo, file.path);
  const res = await client.request(url, have > 0 ? { range: `bytes=${have}-` } : {}, repo);
  const resumed = have > 0 && res.status === 206;
  if (!resumed) have = 0;
  const check = contentHash(file);
  if (resumed && check) await hashFile(partial, check.hash);
  onBytes(have);
  if (!res.body) throw new HubError(`${url}: the hub sent no content`);
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      check?.hash.update(chunk);
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as never), count, createWriteStream(partial, { flags: resumed ? 'a' : 'w' }));
  } catch (err) {
    const got = existsSync(partial) ? (await stat(partial)).size : 0;
    throw new HubError(`${file.path}: the download broke off at ${got} of ${file.size} bytes (${(err as Error).message}); run the command again to resume`);
  }

  const size = (await stat(partial)).size;
  if (size !== file.size) {
    // Kept for the next try to resume from, unless it is already too long to be right.
    if (size > file.size) await rm(partial);
    throw new HubError(`${file.path}: got ${size} bytes, the hub lists ${file.size}; run the command again to resume`);
  }
  if (check) {
    const got = check.hash.digest('hex');
    if (got !== check.expected) {
      await rm(partial);
      throw new HubError(`${file.path}: ${check.kind} ${got} does not match the hub's ${check.expected}; the download was removed`);
    }
  }
  await rename(partial, dest);
  return { resumedFrom: resumed ? have : 0 };
}
