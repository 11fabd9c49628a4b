/**
 * Turns of the event loop for long reads, handed out one at a time.
 *
 * A replay or a search reads history in steps and waits for `nextTurn()` between them. Waiting
 * on `setImmediate` alone is not enough: every callback queued before the loop reaches its
 * check phase runs in that same phase, so forty replays yielding together would still hold
 * the loop for forty steps in a row. Here the waiters queue up and one is let go per turn of
 * the loop; timers, sockets and live events get their turn between any two steps, however
 * many reads are in flight.
 */
const waiting: (() => void)[] = [];
let pumping = false;

function pump(): void {
  waiting.shift()?.();
  // Queued from inside the check phase, the next one runs in the loop's next turn.
  if (waiting.length) setImmediate(pump);
  else pumping = false;
}

/** Resolves in a later turn of the event loop, after the reads that asked before it. */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => {
    waiting.push(resolve);
    if (!pumping) {
      pumping = true;
      setImmediate(pump);
    }
  });
}
