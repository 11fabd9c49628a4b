/**
 * Steps in, a stream's public events out (core/events.ts): captions that are not repeats,
 * summaries, and its status. The status is derived here from all the steps: the source's
 * state, and while the source is live, a note in `error` when a model missed its deadline or
 * its model server failed (until that model answers again) and a `note` when most keyframes
 * lie beyond what the captioner knows (domain-watch.ts). A status a step changes goes out
 * before what that step itself brings.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { DomainWatch, outOfDomainNote } from '../domain-watch.js';
import { log } from '../../util/log.js';
import type { StatusReport } from '../../ingest/supervised-source.js';
import type { PipelineEvent, StatusEvent } from '../../core/events.js';
import type { Step } from '../steps.js';

export interface StreamEventsOptions {
  /** For logs. */
  streamId?: string;
  /** The captioner's name, for the note on a stream it does not recognise. */
  captionerName?: string;
}

/** The status event of a source report (none while connecting). */
export function statusEvent(report: StatusReport): StatusEvent | undefined {
  if (report.state === 'connecting') return undefined;
  if (report.state === 'live') return { type: 'status', state: 'live' };
  return {
    type: 'status',
    state: report.error?.reason === 'stalled' ? 'stalled' : 'reconnecting',
    error: report.error?.message,
    retryInMs: report.retryInMs,
  };
}

/** Errors that say a model did not answer (stuck and replaced, gone, or its server failed), not that an input was bad. */
const MODEL_FAILURES = new Set(['ModelTimeoutError', 'ModelWorkerError', 'ModelServerError']);

export function streamEvents(options: StreamEventsOptions = {}): OperatorFunction<Step, PipelineEvent> {
  const captionerName = options.captionerName ?? 'captioner';
  return (steps) =>
    new Observable<PipelineEvent>((subscriber) => {
      let sourceLive = false;
      let modelNote: { by: 'captioner' | 'summarizer'; error: string } | undefined;
      let domainNote: string | undefined;
      const domainWatch = new DomainWatch();
      const liveStatus = (): StatusEvent => ({ type: 'status', state: 'live', ...(modelNote && { error: modelNote.error }), ...(domainNote && { note: domainNote }) });
      const liveChanged = () => {
        if (sourceLive) subscriber.next(liveStatus());
      };
      const modelFailed = (by: 'captioner' | 'summarizer', error: Error) => {
        log.warn(`${by === 'captioner' ? 'caption' : 'summary'} failed`, { stream: options.streamId, error: error.message, kind: error.name });
        if (!MODEL_FAILURES.has(error.name) || modelNote?.error === error.message) return;
        modelNote = { by, error: error.message };
        liveChanged();
      };
      const modelAnswered = (by: 'captioner' | 'summarizer') => {
        if (modelNote?.by !== by) return;
        modelNote = undefined;
        liveChanged();
      };
      const keyframeSeen = (outOfDomain: boolean | undefined) => {
        const change = domainWatch.push(outOfDomain);
        if (!change) return;
        if (change.entered) {
          domainNote = outOfDomainNote(captionerName, change);
          log.warn(domainNote, { stream: options.streamId, captioner: captionerName });
        } else {
          domainNote = undefined;
          log.info('stream scenes recognised by its captioner again', { stream: options.streamId, captioner: captionerName });
        }
        liveChanged();
      };
      return steps.subscribe({
        next: (step) => {
          switch (step.type) {
            case 'source': {
              const event = statusEvent(step.report);
              if (!event) return;
              sourceLive = event.state === 'live';
              subscriber.next(sourceLive ? liveStatus() : event);
              return;
            }
            case 'captioned': {
              modelAnswered('captioner');
              // Every captioned keyframe counts, also those whose caption repeats the last one.
              keyframeSeen(step.caption.outOfDomain);
              if (step.repeat) return;
              const { caption } = step;
              subscriber.next({
                type: 'caption',
                text: caption.text,
                frameTs: step.frameTs,
                latencyMs: step.latencyMs,
                reason: step.reason,
                keyframe: step.thumbnail,
                ...(caption.outOfDomain !== undefined && { outOfDomain: caption.outOfDomain }),
              });
              return;
            }
            case 'caption-failed':
              return modelFailed('captioner', step.error);
            case 'summarized':
              modelAnswered('summarizer');
              // An empty summary says nothing.
              if (step.text.length > 0) subscriber.next({ type: 'summary', text: step.text, from: step.from, to: step.to });
              return;
            case 'summary-failed':
              return modelFailed('summarizer', step.error);
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}
