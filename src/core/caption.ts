/**
 * What a captioner and a summarizer are to the rest of livecap: functions from a frame to a
 * caption and from captions to a summary, whatever model runs behind them.
 */
import type { Frame } from './frame.js';

/** Which check found a frame out of domain. */
export type DomainCheck = 'features' | 'stretched' | 'joint' | 'flat';

export interface CaptionOptions {
  beamWidth?: number;
  maxLength?: number;
  lengthPenalty?: number;
  /** No n-gram of this size twice in a caption (default 3; 0 turns it off). */
  noRepeatNgramSize?: number;
  /** No word more than this many times in a row (default 2; 0 turns it off). */
  maxRepeatRun?: number;
  /**
   * What a captioner that takes a prompt is asked (a stream's prompt): for Florence-2 a task
   * (`<CAPTION>`, `<DETAILED_CAPTION>`, `<MORE_DETAILED_CAPTION>`) or a prompt of its own, for a
   * vision-language model server the prompt sent with the keyframe; the captioner's own default
   * when absent. Captioners without prompts ignore it.
   */
  prompt?: string;
}

export interface Caption {
  text: string;
  /** Mean log-probability per generated token: a rough confidence. */
  score: number;
  /**
   * Whether the frame lies beyond what the model was trained on (its captions there mean
   * nothing); absent when the model has no domain detector.
   */
  outOfDomain?: boolean;
  /** How far beyond the training pictures the frame is, over the detector's threshold (> 1: out of domain). */
  domainScore?: number;
  /** Which of the detector's checks found it out of domain (features, stretched, flat). */
  domainCheck?: DomainCheck;
}

export interface Captioner {
  caption(frame: Frame, options?: CaptionOptions): Promise<Caption>;
  /** Whether it takes a prompt per caption (Florence-2, a model server); a stream's prompt needs one that does. */
  readonly takesPrompt?: boolean;
  /** What is wrong with a prompt for this captioner (a Florence-2 task that answers with boxes), if anything. */
  promptProblem?(prompt: string): string | undefined;
}

export interface Summarizer {
  summarize(captions: readonly string[]): Promise<{ text: string }>;
}
