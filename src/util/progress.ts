/**
 * Progress for long jobs (training, evaluation, dataset writing, benchmarks): a bar with the
 * count, rate, ETA and any live values (such as the loss) on stderr. On a terminal the line is
 * redrawn in place; elsewhere (CI logs) a line is printed at most every few seconds.
 */
export interface ProgressOptions {
  label: string;
  total: number;
  /** Where to write; default process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Minimum milliseconds between lines when not on a terminal. */
  logEveryMs?: number;
  /** 'bytes' shows the count as kB/MB/GB and adds a transfer rate. */
  unit?: 'items' | 'bytes';
  /** Injected clock for tests. */
  now?: () => number;
}

export class Progress {
  private done = 0;
  private readonly started: number;
  private lastDraw = -Infinity;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly logEveryMs: number;
  private readonly now: () => number;
  private values: Record<string, string | number> = {};

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.logEveryMs = options.logEveryMs ?? 5000;
    this.now = options.now ?? Date.now;
    this.started = this.now();
  }

  /** Advances by `n` and updates the live values shown after the bar. */
  tick(n = 1, values?: Record<string, string | number>): void {
    this.done += n;
    if (values) this.values = { ...this.values, ...values };
    const t = this.now();
    if (this.done >= this.options.total || t - this.lastDraw >= (this.tty ? 100 : this.logEveryMs)) {
      this.lastDraw = t;
      this.draw();
    }
  }

  line(): string {
    const { label, total } = this.options;
    const fraction = total > 0 ? Math.min(1, this.done / total) : 1;
    const width = 24;
    const filled = Math.round(fraction * width);
    const elapsed = (this.now() - this.started) / 1000;
    const eta = this.done > 0 ? (elapsed / this.done) * Math.max(0, total - this.done) : NaN;
    const extras = Object.entries(this.values)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? formatNumber(v) : v}`)
      .join('  ');
    const count = this.options.unit === 'bytes' ? `${formatBytes(this.done)}/${formatBytes(total)} ${formatBytes(elapsed > 0 ? this.done / elapsed : 0)}/s` : `${this.done}/${total}`;
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${count} ${formatDuration(elapsed)} eta ${Number.isFinite(eta) ? formatDuration(eta) : '?'}${extras ? '  ' + extras : ''}`;
  }

  private lastLine = '';

  private draw(): void {
    const line = this.line();
    if (this.tty) this.stream.write(`\r${line}\x1b[K`);
    else if (line !== this.lastLine) this.stream.write(line + '\n');
    this.lastLine = line;
  }

  /** Draws the final state and ends the line. */
  finish(values?: Record<string, string | number>): void {
    if (values) this.values = { ...this.values, ...values };
    const line = this.line();
    if (this.tty) this.stream.write(`\r${line}\x1b[K\n`);
    else if (line !== this.lastLine) this.stream.write(line + '\n');
    this.lastLine = line;
  }
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(3) : v.toPrecision(3);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v.toFixed(0) : v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
