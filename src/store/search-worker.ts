/**
 * The search thread: runs full-text searches over a history file with a read-only connection
 * of its own, so that ranking a word found in a million events never holds the event loop.
 * SQLite in WAL mode lets this reader run while the server's own connection writes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { prepareSearch, searchStored, type SearchLimits, type SearchQuery } from './search.js';

export interface SearchRequest {
  id: number;
  query: SearchQuery;
  limits: SearchLimits;
}

const db = new Database((workerData as { path: string }).path, { readonly: true, fileMustExist: true, timeout: 250 });
const sql = prepareSearch(db);
// One thread, one search at a time: nothing else waits on this loop between steps.
const noPause = async () => {};

parentPort!.on('message', async ({ id, query, limits }: SearchRequest) => {
  try {
    parentPort!.postMessage({ id, hits: await searchStored(sql, query, limits, noPause) });
  } catch (err) {
    parentPort!.postMessage({ id, error: (err as Error).message });
  }
});
