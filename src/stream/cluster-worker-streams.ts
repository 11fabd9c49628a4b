/**
 * What a cluster worker runs for each stream it holds: the same pipeline as the single server,
 * its statuses, captions and summaries appended in order, one at a time, to the stream's Redis
 * Stream with the worker's lease. The seq is taken when an event's turn comes, so a failed append
 * uses none; an append refused because the lease is someone else's stops the stream at once
 * (nothing more is written, see cluster/event-log.ts); while Redis cannot be reached, events are
 * held back (not sent to anyone, their seq unused) and the stream says it is degraded.
 */
import type { Subscription } from 'rxjs';
import type { PipelineEvent, StatusMessage } from '../core/events.js';
import { parseSource, type SourceRules } from '../ingest/source.js';
import { SourceFinished } from '../ingest/supervised-source.js';
import { heartbeatPhase } from '../pipeline/scene-gate.js';
import { newCounters, streamPipeline, type PipelineCounters, type PipelineOptions } from '../pipeline/stream-pipeline.js';
import { log } from '../util/log.js';
import { type EventLog, FencedError, SeqConflictError } from '../cluster/event-log.js';
import type { Lease } from '../cluster/leases.js';
import type { Registration } from '../cluster/registry.js';
import type { RunningStream } from '../cluster/worker.js';
import { sequencedMessage } from './stream-messages.js';
import { chooseCaptioner, type CaptionerChoice } from './streams.js';

export interface ClusterStreamOptions {
  rules: SourceRules;
  pipeline: Omit<PipelineOptions, 'streamId'>;
  /** The most events kept per stream in Redis (approximately: whole blocks are trimmed). */
  maxEvents: number;
}

/** What a worker's heartbeat says about a stream it runs. */
export interface ClusterStreamInfo {
  state: string;
  error?: string;
  note?: string;
  lastSeq: number;
  counters: PipelineCounters;
  captioner: string;
  degraded?: string;
  [key: string]: unknown;
}

export class ClusterStreamRunner {
  private started = 0;

  constructor(
    private readonly captioners: CaptionerChoice,
    private readonly options: ClusterStreamOptions,
    private readonly events: EventLog,
  ) {}

  run(id: string, registration: Registration, lease: Lease, lost: (reason: string) => void): RunningStream {
    const counters = newCounters();
    const info: ClusterStreamInfo = { state: 'connecting', lastSeq: 0, counters, captioner: registration.captioner ?? this.captioners.defaultName };
    let seq: number | undefined;
    let stopped = false;
    let subscription: Subscription | undefined;
    let queue = Promise.resolve();

    const stop = (reason: string) => {
      if (stopped) return;
      stopped = true;
      subscription?.unsubscribe();
      log.info('cluster: stream stopped here', { stream: id, reason });
    };
    const append = async (event: PipelineEvent | StatusMessage) => {
      if (stopped) return;
      try {
        if (event.type === 'status') {
          const status: StatusMessage = { ...event, stream: id, type: 'status' };
          await this.events.append(lease, { type: 'status', ts: Date.now(), json: JSON.stringify(status) }, this.options.maxEvents);
        } else {
          for (let attempt = 0; ; attempt++) {
            seq ??= await this.events.lastSeq(id);
            const { message, jpeg } = sequencedMessage(id, seq + 1, event);
            try {
              await this.events.append(lease, { seq: message.seq, type: message.type, ts: message.ts, json: JSON.stringify(message), jpeg }, this.options.maxEvents);
              seq = message.seq;
              info.lastSeq = seq;
              break;
            } catch (err) {
              // An earlier append that timed out may have landed after all: carry on from what Redis has.
              if (!(err instanceof SeqConflictError) || attempt > 0) throw err;
              seq = undefined;
            }
          }
        }
        if (info.degraded) log.info('cluster: writing events again', { stream: id });
        info.degraded = undefined;
      } catch (err) {
        if (err instanceof FencedError) {
          log.warn('cluster: lease lost; this worker writes nothing more for the stream', { stream: id, holder: err.holder, token: lease.token });
          stop('lease lost');
          lost('lease lost (an append was refused)');
          return;
        }
        seq = undefined;
        const why = (err as Error).message;
        if (!info.degraded) log.error('cluster: cannot write events; holding them back', { stream: id, error: why });
        info.degraded = `events cannot be written to Redis (${why}); they are held back until they can`;
      }
    };
    const enqueue = (event: PipelineEvent | StatusMessage) => {
      queue = queue.then(() => append(event));
    };

    let source: ReturnType<typeof parseSource>;
    let chosen: ReturnType<typeof chooseCaptioner>;
    try {
      source = parseSource(registration.url, this.options.rules);
      chosen = chooseCaptioner(this.captioners, registration.captioner);
    } catch (err) {
      // The web node checked it with the same rules; a worker configured differently says why here.
      const error = `this worker cannot run the stream: ${(err as Error).message}`;
      log.error('cluster: stream cannot start here', { stream: id, error });
      info.state = 'stopped';
      info.error = error;
      enqueue({ type: 'status', stream: id, state: 'stopped', error });
      return { stop, info: () => ({ ...info, counters: { ...counters } }) };
    }
    const gate = { heartbeatPhase: heartbeatPhase(this.started++), ...this.options.pipeline.gate };
    subscription = streamPipeline(source, chosen.captioner, { ...this.options.pipeline, gate, streamId: id, captionerName: chosen.name, prompt: registration.prompt }, counters).subscribe({
      next: (event) => {
        if (event.type === 'status') {
          info.state = event.state;
          info.error = event.error;
          info.note = event.note;
        }
        enqueue(event);
      },
      error: (err: Error) => {
        info.state = 'stopped';
        info.error = err instanceof SourceFinished ? undefined : err.message;
        if (!(err instanceof SourceFinished)) log.error('stream pipeline failed', { stream: id, error: err.message });
        enqueue({ type: 'status', stream: id, state: 'stopped', ...(info.error && { error: info.error }) });
      },
    });
    return { stop, info: () => ({ ...info, counters: { ...counters } }) };
  }
}
