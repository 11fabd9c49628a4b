/**
 * Running ffmpeg to completion for offline jobs (encoding a rendered clip, decoding a still).
 * Live ingest owns its processes through an Observable instead (src/ingest).
 */
import { spawn } from 'node:child_process';

export const FFMPEG = process.env.LIVECAP_FFMPEG ?? 'ffmpeg';

/** Keeps only the last `limit` characters of a stream of text, so stderr cannot grow without bound. */
export class TextTail {
  private text = '';
  constructor(private readonly limit = 4096) {}
  push(chunk: string | Buffer): void {
    this.text += chunk.toString();
    if (this.text.length > this.limit * 2) this.text = this.text.slice(-this.limit);
  }
  toString(): string {
    return this.text.slice(-this.limit);
  }
  /** The last non-empty lines, for an error message. */
  lastLines(count = 3): string {
    return this.toString()
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean)
      .slice(-count)
      .join(' | ');
  }
}

export interface RunOptions {
  /** Chunks written to ffmpeg's stdin, with backpressure; stdin is closed after the last. */
  input?: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** Called with each stdout chunk; without it stdout is collected and returned. */
  onStdout?: (chunk: Buffer) => void;
  /** What the job is, for error messages. */
  label?: string;
}

/**
 * Runs `ffmpeg ARGS…` and resolves with its stdout when it exits 0; rejects with an error that
 * names the job and ends with ffmpeg's last stderr lines otherwise.
 */
export async function runFfmpeg(args: readonly string[], options: RunOptions = {}): Promise<Buffer> {
  const label = options.label ?? 'ffmpeg';
  const child = spawn(FFMPEG, ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], {
    stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const tail = new TextTail();
  const chunks: Buffer[] = [];
  child.stderr!.on('data', (c: Buffer) => tail.push(c));
  child.stdout!.on('data', (c: Buffer) => (options.onStdout ? options.onStdout(c) : chunks.push(c)));
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new Error(`${label}: ffmpeg not found (install ffmpeg or set LIVECAP_FFMPEG)`) : err));
    child.once('close', (code) => resolve(code ?? -1));
  });
  if (options.input) {
    const stdin = child.stdin!;
    // EPIPE when ffmpeg exits early is reported through the exit code below instead.
    stdin.on('error', () => {});
    try {
      for await (const chunk of options.input) {
        if (stdin.destroyed) break;
        if (!stdin.write(chunk)) await drained(stdin);
      }
      stdin.end();
    } catch (err) {
      // The producer failed: do not leave a half-fed ffmpeg behind.
      child.kill('SIGKILL');
      await exited.catch(() => {});
      throw err;
    }
  }
  const code = await exited;
  if (code !== 0) throw new Error(`${label} failed (ffmpeg exit ${code}): ${tail.lastLines() || 'no output'}`);
  return Buffer.concat(chunks);
}

/** Resolves when a writable drains or closes, removing both listeners either way. */
export function drained(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
