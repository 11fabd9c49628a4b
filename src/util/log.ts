/**
 * Structured logs on stderr, through pino: one JSON object per line with `level`, `time`,
 * `msg` and the fields given (a stream's logs carry `stream`), ready for a log shipper.
 * LIVECAP_LOG=debug|info|warn|error|silent sets the level (default info);
 * LIVECAP_LOG_FORMAT=text prints `livecap level: message key=value …` lines for reading by eye.
 * Writes are synchronous, so nothing logged just before an exit is lost.
 */
import pino from 'pino';

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
type Level = Exclude<(typeof LEVELS)[number], 'silent'>;

const level = (LEVELS as readonly string[]).includes(process.env.LIVECAP_LOG ?? '') ? (process.env.LIVECAP_LOG as Level) : 'info';
const logger = pino({ level, base: { name: 'livecap' }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, pino.destination({ fd: 2, sync: true }));

function text(lvl: Level, message: string, fields: Record<string, unknown> = {}): void {
  if (!logger.isLevelEnabled(lvl)) return;
  const extra = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  process.stderr.write(`livecap ${lvl}: ${message}${extra ? ' ' + extra : ''}\n`);
}

const write = process.env.LIVECAP_LOG_FORMAT === 'text' ? text : (lvl: Level, message: string, fields: Record<string, unknown> = {}) => logger[lvl](fields, message);

export const log = {
  debug: (message: string, fields?: Record<string, unknown>) => write('debug', message, fields),
  info: (message: string, fields?: Record<string, unknown>) => write('info', message, fields),
  warn: (message: string, fields?: Record<string, unknown>) => write('warn', message, fields),
  error: (message: string, fields?: Record<string, unknown>) => write('error', message, fields),
};
