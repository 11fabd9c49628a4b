/**
 * Turns the tail of ffmpeg's stderr into a short reason a user can act on, with credentials
 * removed from anything quoted: user:password@ in any URL, secret-looking query values, and
 * (through `withoutSecrets`) the source's own secrets wherever ffmpeg quotes them.
 */
import { redactText, scrubSecrets } from '../util/redact.js';

export type FailureReason =
  | 'connection refused'
  | 'unauthorized'
  | 'not found'
  | 'not a video'
  | 'no such device'
  | 'timed out'
  | 'host not found'
  | 'untrusted certificate'
  | 'bad playlist'
  | 'too much memory'
  | 'stalled'
  | 'ended'
  | 'ffmpeg missing'
  | 'failed';

const RULES: [RegExp, FailureReason][] = [
  [/Connection refused/i, 'connection refused'],
  [/certificate|does not match hostname|unknown CA|self[- ]signed/i, 'untrusted certificate'],
  [/401 Unauthorized|\b401\b.*Unauthorized|authorization failed/i, 'unauthorized'],
  [/Cannot open video device|No such device|Inappropriate ioctl|Not a video capture device/i, 'no such device'],
  [/404 Not Found|\b404\b|No such file or directory|Server returned 4\d\d/i, 'not found'],
  [/Invalid data found when processing input|could not find codec parameters|moov atom not found|does not contain any stream|Invalid argument|unspecified size/i, 'not a video'],
  [/timed out|Timeout/i, 'timed out'],
  [/Name or service not known|Temporary failure in name resolution|Could not resolve|Failed to resolve/i, 'host not found'],
];

export function classifyFfmpegFailure(stderrTail: string): FailureReason {
  for (const [pattern, reason] of RULES) if (pattern.test(stderrTail)) return reason;
  return 'failed';
}

/** ffmpeg's text as a person should read it: no credentials, no "[tcp @ 0x55…]" object prefixes. */
export function tidyDetail(text: string): string {
  return redactText(text).replace(/\[[\w,:-]+ @ 0x[0-9a-f]+\]\s*/gi, '');
}

/** An ingest failure: a reason to show, the detail behind it, and whether retrying can help. */
export class IngestError extends Error {
  override name = 'IngestError';
  constructor(
    readonly reason: FailureReason,
    detail: string,
    readonly exitCode?: number | null,
  ) {
    super(detail ? `${reason}: ${tidyDetail(detail)}` : reason);
  }

  /** The same failure with each of `secrets` (a source's password, tokens) replaced by ***. */
  withoutSecrets(secrets: readonly string[]): IngestError {
    const copy = new IngestError(this.reason, '', this.exitCode);
    copy.message = scrubSecrets(this.message, secrets);
    return copy;
  }
}
