/**
 * One ffmpeg process as a cold Observable of raw frames: subscribing spawns it, unsubscribing
 * stops it (SIGTERM, then SIGKILL after a grace period), and its exit becomes complete() or an
 * IngestError that says why. stderr is kept only as a bounded tail, and its memory is bounded
 * too: a source can make ffmpeg read without end (nested playlists served only to ffmpeg, say),
 * so a process whose resident memory passes the limit is killed and the source fails.
 */
import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { Observable } from 'rxjs';
import { FFMPEG, TextTail } from '../media/ffmpeg.js';
import { FrameSplitter } from './frame-splitter.js';
import { classifyFfmpegFailure, IngestError } from './ffmpeg-errors.js';
import type { OutputSpec } from './ffmpeg-args.js';

export interface RawFrame {
  /** Frame number since this process started. */
  index: number;
  /** Media time in seconds since the process's first frame (index / fps). */
  pts: number;
  /** Wall-clock time (ms since the epoch) when the frame arrived. */
  capturedAt: number;
  width: number;
  height: number;
  /** Packed RGB24. */
  data: Uint8Array;
}

export interface ProcessOptions {
  /** Milliseconds between SIGTERM and SIGKILL. */
  graceMs?: number;
  /** Told each spawned process id (tests check that none is left behind). */
  onSpawn?: (pid: number) => void;
  ffmpegPath?: string;
  /** Kill ffmpeg when its resident memory passes this many bytes (Linux; 0: no limit). Default 1 GiB. */
  maxMemoryBytes?: number;
  /** Told, when the process is stopped by unsubscribing, when it has gone (a device it held is free again). */
  onStop?: (exited: Promise<void>) => void;
}

export const DEFAULT_MAX_MEMORY_BYTES = 1 << 30;

/** A process's resident memory in bytes, from /proc; undefined where that cannot be read. */
function residentBytes(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * SIGTERM now, SIGKILL after `graceMs` if it has not exited. Resolves when it is gone. A
 * SIGCONT follows the SIGTERM: a stopped (frozen) process acts on the SIGTERM at once instead
 * of holding it until the SIGKILL.
 */
export function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
    child.kill('SIGCONT');
  });
}

export function ffmpegFrames(args: readonly string[], output: OutputSpec, options: ProcessOptions = {}): Observable<RawFrame> {
  return new Observable<RawFrame>((subscriber) => {
    const child = spawn(options.ffmpegPath ?? FFMPEG, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    const tail = new TextTail(4096);
    const splitter = new FrameSplitter(output.width * output.height * 3);
    let index = 0;
    let stopping = false;
    let overMemory: number | undefined;
    const limit = options.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES;
    const memoryWatch =
      limit > 0 && child.pid !== undefined
        ? setInterval(() => {
            const rss = residentBytes(child.pid!);
            if (rss !== undefined && rss > limit && overMemory === undefined) {
              overMemory = rss;
              child.kill('SIGKILL');
            }
          }, 250)
        : undefined;
    child.stdout!.on('data', (chunk: Buffer) => {
      const now = Date.now();
      for (const data of splitter.push(chunk)) {
        if (stopping) return;
        subscriber.next({ index, pts: index / output.fps, capturedAt: now, width: output.width, height: output.height, data });
        index++;
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => tail.push(chunk));
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (stopping) return;
      subscriber.error(
        err.code === 'ENOENT' ? new IngestError('ffmpeg missing', `cannot run '${options.ffmpegPath ?? FFMPEG}' (install ffmpeg or set LIVECAP_FFMPEG)`) : new IngestError('failed', err.message),
      );
    });
    child.once('close', (code, signal) => {
      clearInterval(memoryWatch);
      // An exit we asked for is not news.
      if (stopping) return;
      const mb = (n: number) => Math.round(n / (1 << 20));
      if (overMemory !== undefined)
        subscriber.error(new IngestError('too much memory', `ffmpeg used ${mb(overMemory)} MB, over its limit of ${mb(limit)} MB, and was stopped; the source may make it read without end`));
      else if (code === 0) subscriber.complete();
      else {
        const text = tail.lastLines(3);
        subscriber.error(new IngestError(classifyFfmpegFailure(tail.toString()), text || `ffmpeg exited (${signal ?? code})`, code));
      }
    });
    return () => {
      clearInterval(memoryWatch);
      stopping = true;
      const exited = stopProcess(child, options.graceMs ?? 2000);
      options.onStop?.(exited);
    };
  });
}
