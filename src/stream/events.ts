/** The events a stream publishes, as they go to viewers (see docs/protocol.md). */
import type { StreamState } from '../pipeline/stream-pipeline.js';

export interface CaptionMessage {
  type: 'caption';
  stream: string;
  seq: number;
  /** When the caption was made (ms since the epoch). */
  ts: number;
  /** When its keyframe was captured (ms since the epoch). */
  frameTs: number;
  text: string;
  latencyMs: number;
  /** Where its keyframe (a JPEG) is served while the caption is kept: see `keyframeUrl`. */
  keyframeUrl?: string;
  /** The keyframe lies beyond what the stream's captioner knows: the text means nothing (absent when it cannot tell). */
  outOfDomain?: boolean;
}

export interface StatusMessage {
  type: 'status';
  stream: string;
  state: StreamState;
  error?: string;
  retryInMs?: number;
  /** Advice while live: the captioner does not recognise this stream's scenes, and what to do. */
  note?: string;
}

export interface SummaryMessage {
  type: 'summary';
  stream: string;
  seq: number;
  /** When the summary was made (ms since the epoch). */
  ts: number;
  /** The time range of the captions it summarizes (ms since the epoch). */
  from: number;
  to: number;
  text: string;
}

/** Events with a place in a stream's history carry a seq (one sequence per stream). */
export type SequencedMessage = CaptionMessage | SummaryMessage;
export type StreamMessage = CaptionMessage | SummaryMessage | StatusMessage;

/** The path of a caption's keyframe, relative to the server: GET it with the same token as the API. */
export function keyframeUrl(stream: string, seq: number): string {
  return `/api/streams/${encodeURIComponent(stream)}/keyframes/${seq}.jpg`;
}
