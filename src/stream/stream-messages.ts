/**
 * A pipeline's caption or summary as the message viewers get, with its seq, and the alerts rules
 * raise for it: one place, for the single server (streams.ts) and for a cluster's workers
 * (cluster-worker-streams.ts) alike.
 */
import { keyframeUrl, type AlertMessage, type CaptionEvent, type CaptionMessage, type SequencedMessage, type SummaryEvent, type SummaryMessage } from '../core/events.js';
import type { Fired } from '../rules/rule-book.js';

const JPEG_DATA_URL = 'data:image/jpeg;base64,';

/** A keyframe thumbnail's JPEG bytes, from the data URL the pipeline makes. */
export function jpegOf(dataUrl: string | undefined): Buffer | undefined {
  return dataUrl?.startsWith(JPEG_DATA_URL) ? Buffer.from(dataUrl.slice(JPEG_DATA_URL.length), 'base64') : undefined;
}

/** The message for a caption or summary with this seq, and a caption's keyframe JPEG (its URL is in the message). */
export function sequencedMessage(stream: string, seq: number, event: CaptionEvent | SummaryEvent, now = Date.now()): { message: SequencedMessage; jpeg?: Buffer } {
  if (event.type === 'summary') return { message: { type: 'summary', stream, seq, ts: now, from: event.from, to: event.to, text: event.text } satisfies SummaryMessage };
  const jpeg = jpegOf(event.keyframe);
  const message: CaptionMessage = {
    type: 'caption',
    stream,
    seq,
    ts: now,
    frameTs: event.frameTs,
    text: event.text,
    latencyMs: event.latencyMs,
    keyframeUrl: jpeg && keyframeUrl(stream, seq),
    outOfDomain: event.outOfDomain,
  };
  return { message, jpeg };
}

/** The alert a rule raised for a caption or summary, with its own seq. */
export function alertMessage(matched: CaptionMessage | SummaryMessage, seq: number, fired: Fired, now = Date.now()): AlertMessage {
  return {
    type: 'alert',
    stream: matched.stream,
    seq,
    ts: now,
    rule: fired.rule,
    name: fired.name,
    text: matched.text,
    captionSeq: matched.seq,
    on: matched.type,
    ...(matched.type === 'caption' && matched.keyframeUrl !== undefined && { keyframeUrl: matched.keyframeUrl }),
  };
}
