/**
 * The first video PTS of MPEG-TS segments that ffmpeg writes, against ffprobe's reading of the
 * same files: with the muxer's usual start offset, with a large offset (past 2^32 ticks, where
 * 32-bit arithmetic would wrap), and none for a file with no video.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { firstVideoPts } from '../../src/media/mpegts.js';

const run = promisify(execFile);

async function probePts(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts', '-of', 'csv=p=0', '-read_intervals', '%+#1', file]);
  return Number(stdout.trim().split(/[\s,]+/)[0]);
}

test('the first video PTS of a segment is the one ffprobe reads', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-ts-'));
  try {
    for (const [name, offset] of [
      ['plain.ts', []],
      ['late.ts', ['-output_ts_offset', '50000']],
    ] as const) {
      const file = join(dir, name);
      await run('ffmpeg', [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc=size=160x120:rate=10',
        '-f',
        'lavfi',
        '-i',
        'sine',
        '-t',
        '2',
        '-c:v',
        'libx264',
        '-c:a',
        'aac',
        ...offset,
        '-f',
        'mpegts',
        file,
      ]);
      const expected = await probePts(file);
      assert.equal(firstVideoPts(await readFile(file)), expected, name);
      if (name === 'late.ts') assert.ok(expected > 2 ** 32, 'past 32 bits');
    }
    const audio = join(dir, 'audio.ts');
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine', '-t', '1', '-c:a', 'aac', '-f', 'mpegts', audio]);
    assert.equal(firstVideoPts(await readFile(audio)), undefined);
    assert.equal(firstVideoPts(Buffer.from('not a transport stream')), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
