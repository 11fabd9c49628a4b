/**
 * A mistake in how a command was called (an unknown flag, a missing or bad value, an unknown
 * sub-command), as opposed to a failure while doing the work. bin/livecap.js prints it on
 * stderr and exits with status 2, the convention for usage errors; other failures exit 1.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}
