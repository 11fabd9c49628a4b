/**
 * The events of a stream: what its pipeline emits (`PipelineEvent`), and the messages viewers
 * get (`StreamMessage`, see docs/protocol.md), which add the stream's id and a place in its
 * history.
 */

export type StreamState = 'live' | 'reconnecting' | 'stalled' | 'stopped';

/** Why the scene gate kept a frame. */
export type KeyframeReason = 'start' | 'cut' | 'gradual' | 'heartbeat';

export interface CaptionEvent {
  type: 'caption';
  text: string;
  /** Wall-clock ms when the keyframe was captured. */
  frameTs: number;
  /** Capture → caption, in ms. */
  latencyMs: number;
  reason: KeyframeReason;
  /** The keyframe as a small JPEG data URL. */
  keyframe?: string;
  /** The keyframe lies beyond what the captioner knows (absent when it cannot tell). */
  outOfDomain?: boolean;
}

export interface StatusEvent {
  type: 'status';
  state: StreamState;
  error?: string;
  retryInMs?: number;
  /** Advice while the stream is live: its captioner does not recognise its scenes. */
  note?: string;
}

/** A video caption: the summary of the captions of a rolling window. */
export interface SummaryEvent {
  type: 'summary';
  text: string;
  /** The window's time range (ms since the epoch). */
  from: number;
  to: number;
}

export type PipelineEvent = CaptionEvent | StatusEvent | SummaryEvent;

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

/** A rule matched a caption or summary (rules/): an alert, in the stream's history like the text it matched. */
export interface AlertMessage {
  type: 'alert';
  stream: string;
  seq: number;
  /** When the alert was raised (ms since the epoch). */
  ts: number;
  /** The rule's id, and its name for people. */
  rule: string;
  name: string;
  /** The text that matched. */
  text: string;
  /** The seq of the caption (or summary, see `on`) that matched. */
  captionSeq: number;
  on: 'caption' | 'summary';
  /** The matching caption's keyframe, while that caption is kept. */
  keyframeUrl?: string;
}

/** Events with a place in a stream's history carry a seq (one sequence per stream). */
export type SequencedMessage = CaptionMessage | SummaryMessage | AlertMessage;
export type StreamMessage = SequencedMessage | StatusMessage;

/** The path of a caption's keyframe, relative to the server: GET it with the same token as the API. */
export function keyframeUrl(stream: string, seq: number): string {
  return `/api/streams/${encodeURIComponent(stream)}/keyframes/${seq}.jpg`;
}
