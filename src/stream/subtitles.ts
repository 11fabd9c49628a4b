import type { CaptionMessage } from '../core/events.js';
/**
 * A stream's captions as subtitle files: WebVTT (`captions.vtt`, what browsers' <track> reads)
 * and SubRip (`captions.srt`, what video players and editors read).
 *
 * Each caption is a cue from the moment its frame was captured until the next caption's frame
 * (at most `maxCueMs`, so a caption does not hang on over a long silence); times count from
 * `origin` (the start of the requested range). Summaries are not cues: they describe a window,
 * not a moment.
 */

export interface Cue {
  start: number;
  end: number;
  text: string;
}

export const MAX_CUE_MS = 10_000;

/** The cue of a caption whose scene the captioner does not know: its words would mean nothing. */
export const NOT_RECOGNISED_CUE = '[scene not recognised by the captioner]';

export function cues(captions: readonly Pick<CaptionMessage, 'frameTs' | 'text' | 'outOfDomain'>[], origin: number, maxCueMs = MAX_CUE_MS): Cue[] {
  return captions.map((c, i) => {
    const start = Math.max(0, c.frameTs - origin);
    const next = captions[i + 1];
    const end = Math.min(start + maxCueMs, next ? Math.max(start, next.frameTs - origin) : start + maxCueMs);
    // A cue shorter than 100 ms is not readable; give it that much.
    return { start, end: Math.max(end, start + 100), text: c.outOfDomain ? NOT_RECOGNISED_CUE : c.text.replace(/\s+/g, ' ').trim() };
  });
}

function clock(ms: number, separator: '.' | ','): string {
  const t = Math.round(ms);
  const h = Math.floor(t / 3_600_000);
  const m = Math.floor((t % 3_600_000) / 60_000);
  const s = Math.floor((t % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(t % 1000, 3)}`;
}

/** A WebVTT timestamp (hh:mm:ss.ttt) of a time in ms. */
export const vttTimestamp = (ms: number) => clock(ms, '.');

/** WebVTT text must not contain '&', '<' or '-->' raw. */
const escapeVtt = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** WebVTT text of cues; `headers` go right under the WEBVTT line (an HLS segment's X-TIMESTAMP-MAP). */
export function toWebVtt(list: readonly Cue[], title?: string, headers: readonly string[] = []): string {
  const head = title ? `WEBVTT - ${title.replace(/[\r\n]|-->/g, ' ')}` : 'WEBVTT';
  return [head, ...headers, '', ...list.flatMap((c) => [`${clock(c.start, '.')} --> ${clock(c.end, '.')}`, escapeVtt(c.text), ''])].join('\n');
}

export function toSrt(list: readonly Cue[]): string {
  return list.map((c, i) => `${i + 1}\n${clock(c.start, ',')} --> ${clock(c.end, ',')}\n${c.text.replace(/-->/g, '->')}\n`).join('\n');
}
