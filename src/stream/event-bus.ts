/**
 * One fan-out for stream events: the stream manager publishes each event once, and every
 * delivery channel (the WebSocket hub, each SSE response) listens. A listener that throws
 * is logged and the others still get the event.
 */
import { log } from '../util/log.js';
import type { StreamMessage } from '../core/events.js';

export type Listener = (message: StreamMessage) => void;

export class EventBus {
  private readonly listeners = new Set<Listener>();

  /** Adds a listener; the returned function removes it. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(message: StreamMessage): void {
    for (const listener of this.listeners) {
      try {
        listener(message);
      } catch (err) {
        log.error('event listener failed', { stream: message.stream, error: (err as Error).message });
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
