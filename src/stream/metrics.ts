/**
 * Prometheus metrics for `GET /metrics`, one registry per server:
 *
 *   livecap_stream_{frames,keyframes,captions,dropped_keyframes,reconnects,stalls}_total{stream}
 *   livecap_caption_latency_seconds{stream}     histogram: frame captured → caption made
 *   livecap_summaries_total{stream}
 *   livecap_viewers, livecap_viewer_messages_total, livecap_viewers_dropped_total
 *   livecap_history_events                      events kept in the history store
 *   livecap_model_timeouts_total{model}         model calls that missed their deadline
 *   livecap_model_worker_restarts_total{model}  model workers replaced after a missed deadline
 *   nodejs_eventloop_lag_seconds and the rest of prom-client's process metrics
 *
 * Stream and hub numbers are read from their own counters when scraped, so nothing is
 * counted twice; latencies and summaries are observed from the event bus.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StreamManager } from './streams.js';
import type { Hub } from './hub.js';
import type { EventBus } from './event-bus.js';
import type { PipelineCounters } from '../pipeline/stream-pipeline.js';
import { modelWorkerStats, type ModelWorkerStats } from '../models/worker/rpc.js';

const STREAM_COUNTERS: [keyof PipelineCounters, string, string][] = [
  ['frames', 'livecap_stream_frames_total', 'Frames taken from the source for analysis'],
  ['keyframes', 'livecap_stream_keyframes_total', 'Frames where the scene changed'],
  ['captions', 'livecap_stream_captions_total', 'Captions made'],
  ['dropped', 'livecap_stream_dropped_keyframes_total', 'Keyframes replaced by a newer one before the captioner was free'],
  ['reconnects', 'livecap_stream_reconnects_total', 'Times the source was restarted'],
  ['stalls', 'livecap_stream_stalls_total', 'Times the source stopped sending frames'],
];

export function serverMetrics(streams: StreamManager, hub: Hub, bus: EventBus): Registry {
  const register = new Registry();
  collectDefaultMetrics({ register, eventLoopMonitoringPrecision: 10 });
  for (const [key, name, help] of STREAM_COUNTERS) {
    new Counter({
      name,
      help,
      labelNames: ['stream'],
      registers: [register],
      collect() {
        this.reset();
        for (const s of streams.list()) this.inc({ stream: s.id }, s.counters[key]);
      },
    });
  }
  const latency = new Histogram({
    name: 'livecap_caption_latency_seconds',
    help: 'From the capture of a keyframe to its caption',
    labelNames: ['stream'],
    buckets: [0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4],
    registers: [register],
  });
  const summaries = new Counter({ name: 'livecap_summaries_total', help: 'Video captions (summaries) made', labelNames: ['stream'], registers: [register] });
  bus.subscribe((m) => {
    if (m.type === 'caption') latency.observe({ stream: m.stream }, m.latencyMs / 1000);
    else if (m.type === 'summary') summaries.inc({ stream: m.stream });
  });
  new Gauge({ name: 'livecap_viewers', help: 'WebSocket viewers connected', registers: [register], collect() { this.set(hub.stats.viewers); } });
  new Counter({ name: 'livecap_viewer_messages_total', help: 'Messages sent to WebSocket viewers', registers: [register], collect() { this.reset(); this.inc(hub.stats.messages); } });
  new Counter({ name: 'livecap_viewers_dropped_total', help: 'Viewers closed for reading too slowly', registers: [register], collect() { this.reset(); this.inc(hub.stats.droppedViewers); } });
  new Gauge({ name: 'livecap_history_events', help: 'Events kept in the history store', registers: [register], collect() { this.set(streams.store.count()); } });
  const modelCounters: [keyof ModelWorkerStats, string, string][] = [
    ['timeouts', 'livecap_model_timeouts_total', 'Model calls (captions, summaries) that missed their deadline'],
    ['restarts', 'livecap_model_worker_restarts_total', 'Model workers replaced by a fresh one after a missed deadline'],
  ];
  for (const [key, name, help] of modelCounters) {
    new Counter({
      name,
      help,
      labelNames: ['model'],
      registers: [register],
      collect() {
        this.reset();
        for (const [model, s] of modelWorkerStats()) this.inc({ model }, s[key]);
      },
    });
  }
  return register;
}
