/**
 * What happens inside a stream's pipeline, one step at a time: the source's state, frames,
 * keyframes, captions made or failed or dropped, summaries. The public events (core/events.ts)
 * and the counters are both derived from these, each in one place.
 */
import type { Caption } from '../core/caption.js';
import type { KeyframeReason } from '../core/events.js';
import type { StatusReport } from '../ingest/supervised-source.js';

export type Step =
  | { type: 'source'; report: StatusReport }
  | { type: 'frame' }
  | { type: 'keyframe' }
  /** A keyframe that waited for the captioner and was replaced by a newer one. */
  | { type: 'dropped' }
  | {
      type: 'captioned';
      caption: Caption;
      /** When the keyframe was captured (ms since the epoch). */
      frameTs: number;
      reason: KeyframeReason;
      latencyMs: number;
      /** The keyframe as a small JPEG data URL, when one was made. */
      thumbnail?: string;
      /** Says the same as the caption before it: counted, not sent again. */
      repeat: boolean;
    }
  | { type: 'caption-failed'; error: Error }
  | { type: 'summarized'; text: string; from: number; to: number }
  | { type: 'summary-failed'; error: Error };

export interface PipelineCounters {
  frames: number;
  keyframes: number;
  captions: number;
  dropped: number;
  reconnects: number;
  stalls: number;
}

export const newCounters = (): PipelineCounters => ({ frames: 0, keyframes: 0, captions: 0, dropped: 0, reconnects: 0, stalls: 0 });

/** Counts one step; the only place the counters change. */
export function countStep(counters: PipelineCounters, step: Step): void {
  switch (step.type) {
    case 'frame':
      counters.frames++;
      break;
    case 'keyframe':
      counters.keyframes++;
      break;
    case 'dropped':
      counters.dropped++;
      break;
    case 'captioned':
      if (!step.repeat) counters.captions++;
      break;
    case 'source':
      if (step.report.state === 'reconnecting') {
        counters.reconnects++;
        if (step.report.error?.reason === 'stalled') counters.stalls++;
      }
      break;
  }
}
