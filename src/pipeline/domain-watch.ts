/**
 * Watches whether a stream's keyframes lie beyond what its captioner knows. One odd frame says
 * little; a stream whose recent keyframes are mostly out of domain is pointed at something the
 * model was never trained on (a real camera in front of the embedded synthetic-shapes model),
 * and its user should be told once, plainly, with what to do about it.
 *
 * Over the last `window` captioned keyframes: the stream enters the out-of-domain state when at
 * least `minSeen` were seen and more than `enterShare` of them were out of domain, and leaves it
 * when at most `leaveShare` are (apart, so that it does not flap). Captions from a model that
 * cannot tell (no `outOfDomain` flag) are not counted.
 */
export interface DomainWatchOptions {
  window: number;
  minSeen: number;
  enterShare: number;
  leaveShare: number;
}

// Three keyframes at least: on a still camera with 30 s heartbeats the note comes in about a minute.
export const DOMAIN_WATCH_DEFAULTS: DomainWatchOptions = { window: 10, minSeen: 3, enterShare: 0.5, leaveShare: 0.2 };

export type DomainChange = { entered: true; outOfDomain: number; seen: number } | { entered: false; outOfDomain: number; seen: number };

export class DomainWatch {
  private readonly recent: boolean[] = [];
  private inside = false;
  private readonly options: DomainWatchOptions;

  constructor(options: Partial<DomainWatchOptions> = {}) {
    this.options = { ...DOMAIN_WATCH_DEFAULTS, ...options };
  }

  /** Whether the stream is now mostly out of domain. */
  get outOfDomain(): boolean {
    return this.inside;
  }

  /** Counts one captioned keyframe; returns the change of state it caused, if any. */
  push(outOfDomain: boolean | undefined): DomainChange | undefined {
    if (outOfDomain === undefined) return undefined;
    const { window, minSeen, enterShare, leaveShare } = this.options;
    this.recent.push(outOfDomain);
    if (this.recent.length > window) this.recent.shift();
    const seen = this.recent.length;
    const out = this.recent.filter(Boolean).length;
    if (!this.inside && seen >= minSeen && out / seen > enterShare) {
      this.inside = true;
      return { entered: true, outOfDomain: out, seen };
    }
    if (this.inside && out / seen <= leaveShare) {
      this.inside = false;
      return { entered: false, outOfDomain: out, seen };
    }
    return undefined;
  }
}

/** The status note of a stream whose keyframes are mostly beyond its captioner, saying what to do. */
export function outOfDomainNote(captioner: string, change: { outOfDomain: number; seen: number }): string {
  return (
    `the captioner '${captioner}' does not recognise this stream's scenes (${change.outOfDomain} of its last ${change.seen} keyframes are beyond what it was trained on), ` +
    `so its captions here mean nothing. For real captions, run a pretrained export (livecap models pull OWNER/NAME, then --captioner STREAM=onnx:DIR) ` +
    `or a vision-language model server (--captioner STREAM=openai:MODEL@URL); see "What the embedded models know" in the README`
  );
}
