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
  keyframe?: string;
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
