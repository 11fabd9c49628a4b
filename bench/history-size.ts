/**
 * History size: what a caption costs on disk and in a replay, with its keyframe inside the
 * event (as earlier versions stored it: a JPEG data URL in the JSON) and beside it (the
 * keyframes table; the event carries `keyframeUrl`). Both layouts are written in the same run
 * with the same captions and the same JPEGs (synthetic scenes at 160×120, quality 80, as the
 * server makes them), and the inline file is then opened by this version, which moves its
 * keyframes out (timed).
 *
 *   livecap bench history [--captions 5000]
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { numberFlag, parseFlags, wantsHelp } from '../src/util/flags.js';
import { encodeJpeg } from '../src/media/image.js';
import { HistoryStore } from '../src/store/history-store.js';
import { captionsFor } from '../src/synth/grammar.js';
import { renderScene } from '../src/synth/render.js';
import { randomScene } from '../src/synth/world.js';
import { Progress } from '../src/util/progress.js';
import { Rng } from '../src/util/rng.js';
import { machineLine } from './machine.js';
import { keyframeUrl, type CaptionMessage, type SequencedMessage } from '../src/core/events.js';

const HELP = `usage: livecap bench history [--captions 5000]

  Bytes per caption in the history file and bytes of a 1,000-event replay, with keyframes
  inside the events (the old layout) and in their own table (this version), and the time to
  move an old file's keyframes out.`;

interface Layout {
  name: string;
  fileBytes: number;
  replayBytes: number;
}

async function fileBytes(path: string): Promise<number> {
  let total = 0;
  for (const suffix of ['', '-wal']) total += (await stat(path + suffix).catch(() => ({ size: 0 }))).size;
  return total;
}

/** The newest 1,000 events as a replay sends them: each one's JSON. */
function replayBytes(store: HistoryStore, last: number): number {
  return store.newestStored('bench', 0, last, 1000).reduce((n, e) => n + Buffer.byteLength(e.json), 0);
}

export async function run(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, { captions: { type: 'string' } });
  const count = numberFlag('captions', values.captions, 5000);
  const dir = await mkdtemp(join(tmpdir(), 'livecap-bench-history-'));
  try {
    const rng = new Rng(11);
    const bar = new Progress({ label: 'captions and keyframes', total: count });
    const rows: { message: CaptionMessage; jpeg: Buffer }[] = [];
    const start = Date.now() - count * 3000;
    for (let seq = 1; seq <= count; seq++) {
      const scene = randomScene(rng);
      const ts = start + seq * 3000;
      rows.push({ message: { type: 'caption', stream: 'bench', seq, ts, frameTs: ts - 120, text: captionsFor(scene)[0]!, latencyMs: 120 }, jpeg: encodeJpeg(renderScene(scene, 160, 120), 80) });
      bar.tick();
    }
    const jpegBytes = rows.reduce((n, r) => n + r.jpeg.length, 0) / count;

    const layouts: Layout[] = [];
    const inlinePath = join(dir, 'inline.db');
    {
      const store = new HistoryStore({ path: inlinePath });
      // Written as earlier versions wrote it: the image inside the event.
      store.appendMany(rows.map((r) => ({ ...r.message, keyframe: `data:image/jpeg;base64,${r.jpeg.toString('base64')}` }) as SequencedMessage));
      const replay = replayBytes(store, count);
      store.close();
      // Earlier versions did not leave the mark that says keyframes are kept beside the events.
      const raw = new Database(inlinePath);
      raw.prepare("DELETE FROM meta WHERE key = 'keyframes-beside'").run();
      raw.close();
      layouts.push({ name: 'keyframe inside each event (before)', fileBytes: await fileBytes(inlinePath), replayBytes: replay });
    }
    const besidePath = join(dir, 'beside.db');
    {
      const store = new HistoryStore({ path: besidePath });
      for (const r of rows) store.append({ ...r.message, keyframeUrl: keyframeUrl('bench', r.message.seq) }, r.jpeg);
      const replay = replayBytes(store, count);
      store.close();
      layouts.push({ name: 'keyframes in their own table (after)', fileBytes: await fileBytes(besidePath), replayBytes: replay });
    }
    const t0 = performance.now();
    const migrated = new HistoryStore({ path: inlinePath });
    const migrateMs = performance.now() - t0;
    const migratedReplay = replayBytes(migrated, count);
    migrated.close();

    console.log(`history benchmark: ${machineLine()}`);
    console.log(`${count} captions, each with a ${jpegBytes.toFixed(0)}-byte JPEG keyframe (160×120, quality 80)\n`);
    console.log('| layout | history file, bytes per caption | of which events (JSON) | replay of the newest 1,000 events |');
    console.log('|---|---|---|---|');
    for (const l of layouts) {
      const eventBytes = l.replayBytes / 1000;
      console.log(`| ${l.name} | ${(l.fileBytes / count).toFixed(0)} | ${eventBytes.toFixed(0)} | ${(l.replayBytes / 1024).toFixed(0)} KiB |`);
    }
    console.log(
      `\nan old file opened by this version: its ${count} keyframes moved out in ${migrateMs.toFixed(0)} ms (${((migrateMs / count) * 1000).toFixed(0)} µs a caption); replay of 1,000 events afterwards ${(migratedReplay / 1024).toFixed(0)} KiB; the file then holds ${((await fileBytes(inlinePath)) / count).toFixed(0)} bytes per caption (the old bodies' pages stay free and are reused by new events)`,
    );
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
