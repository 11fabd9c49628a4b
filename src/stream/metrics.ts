/**
 * Prometheus metrics for `GET /metrics`, one registry per server:
 *
 *   livecap_stream_{frames,keyframes,captions,dropped_keyframes,reconnects,stalls}_total{stream}
 *   livecap_caption_latency_seconds{stream}     histogram: frame captured → caption made
 *   livecap_summaries_total{stream}
 *   livecap_viewers                             WebSocket viewers and SSE clients
 *   livecap_sse_viewers                         of which SSE clients
 *   livecap_viewer_messages_total, livecap_viewers_dropped_total
 *   livecap_replay_refused_total                replays cut short by a connection's replay budget
 *   livecap_history_events                      events kept in the history store
 *   livecap_history_write_failures_total        events whose history write failed (full disk)
 *   livecap_history_events_held_back_total      of those, events not sent (not even their seq was recorded)
 *   livecap_streams_degraded                    streams whose history is not being written
 *   livecap_model_timeouts_total{model}         model calls that missed their deadline
 *   livecap_model_worker_restarts_total{model}  model workers replaced after a missed deadline
 *   livecap_rules, livecap_alerts_total{stream,rule}
 *   livecap_webhook_{deliveries,retries,dead_letters}_total{webhook}, livecap_webhook_outbox{webhook},
 *   livecap_webhook_delivery_seconds{webhook}   histogram: event → delivered
 *   livecap_mqtt_{connected,buffered}, livecap_mqtt_{messages,dropped,reconnects}_total
 *   nodejs_eventloop_lag_seconds and the rest of prom-client's process metrics, less the
 *   gauges it names `_total` (which `promtool check metrics` rejects); their per-type
 *   nodejs_active_{handles,requests,resources}{type} stay, and sum to the same numbers
 *
 * Stream and hub numbers are read from their own counters when scraped, so nothing is
 * counted twice; latencies and summaries are observed from the event bus.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StreamDirectory } from './directory.js';
import type { Hub } from './hub.js';
import type { EventBus } from './event-bus.js';
import type { SseChannel } from './sse.js';
import type { PipelineCounters } from '../pipeline/stream-pipeline.js';
import { modelWorkerStats, type ModelWorkerStats } from '../util/worker-rpc.js';
import type { Webhooks } from '../notify/webhooks.js';
import type { MqttPublisher } from '../notify/mqtt-publisher.js';
import type { RuleSet } from '../rules/rule-set.js';

/** What the alerts and their deliveries report (none of them when absent). */
export interface NotifySources {
  rules?: RuleSet;
  webhooks?: Webhooks;
  mqtt?: MqttPublisher;
}

const STREAM_COUNTERS: [keyof PipelineCounters, string, string][] = [
  ['frames', 'livecap_stream_frames_total', 'Frames taken from the source for analysis'],
  ['keyframes', 'livecap_stream_keyframes_total', 'Frames where the scene changed'],
  ['captions', 'livecap_stream_captions_total', 'Captions made'],
  ['dropped', 'livecap_stream_dropped_keyframes_total', 'Keyframes replaced by a newer one before the captioner was free'],
  ['reconnects', 'livecap_stream_reconnects_total', 'Times the source was restarted'],
  ['stalls', 'livecap_stream_stalls_total', 'Times the source stopped sending frames'],
];

export function serverMetrics(streams: StreamDirectory, hub: Hub, bus: EventBus, sse: SseChannel, notify: NotifySources = {}): Registry {
  const register = new Registry();
  collectDefaultMetrics({ register, eventLoopMonitoringPrecision: 10 });
  // prom-client's nodejs_active_{handles,requests,resources}_total are gauges: a `_total`
  // suffix promises a counter, and Prometheus' own lint fails them. The per-type gauges stay.
  for (const m of register.getMetricsAsArray()) if (m.name.endsWith('_total') && !(m instanceof Counter)) register.removeSingleMetric(m.name);
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
    // A removed stream's series go with it (it says 'stopped' once it is no longer listed).
    else if (m.type === 'status' && m.state === 'stopped' && !streams.has(m.stream)) {
      latency.remove({ stream: m.stream });
      summaries.remove({ stream: m.stream });
    }
  });
  new Gauge({
    name: 'livecap_viewers',
    help: 'Viewers connected: WebSocket viewers and server-sent event clients',
    registers: [register],
    collect() {
      this.set(hub.stats.viewers + sse.stats.clients);
    },
  });
  new Gauge({
    name: 'livecap_sse_viewers',
    help: 'Server-sent event clients connected (also counted in livecap_viewers)',
    registers: [register],
    collect() {
      this.set(sse.stats.clients);
    },
  });
  new Counter({
    name: 'livecap_replay_refused_total',
    help: 'Replays cut short or refused because the connection had spent its replay budget',
    registers: [register],
    collect() {
      this.reset();
      this.inc(hub.stats.replaysRefused);
    },
  });
  new Counter({
    name: 'livecap_viewer_messages_total',
    help: 'Messages sent to WebSocket viewers',
    registers: [register],
    collect() {
      this.reset();
      this.inc(hub.stats.messages);
    },
  });
  new Counter({
    name: 'livecap_viewers_dropped_total',
    help: 'Viewers closed for reading too slowly',
    registers: [register],
    collect() {
      this.reset();
      this.inc(hub.stats.droppedViewers);
    },
  });
  new Gauge({
    name: 'livecap_history_events',
    help: 'Events kept in the history store',
    registers: [register],
    collect() {
      this.set(streams.store.count());
    },
  });
  new Counter({
    name: 'livecap_history_write_failures_total',
    help: 'Events whose history write failed (a full disk, or the size cap)',
    registers: [register],
    collect() {
      this.reset();
      this.inc(streams.historyWrites.failures);
    },
  });
  new Counter({
    name: 'livecap_history_events_held_back_total',
    help: 'Events not sent because not even their seq could be recorded',
    registers: [register],
    collect() {
      this.reset();
      this.inc(streams.historyWrites.heldBack);
    },
  });
  new Gauge({
    name: 'livecap_streams_degraded',
    help: 'Streams whose history is not being written',
    registers: [register],
    collect() {
      this.set(streams.degraded().length);
    },
  });
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
  notifyMetrics(register, bus, notify);
  return register;
}

/** Rules, alerts and webhook deliveries. */
function notifyMetrics(register: Registry, bus: EventBus, { rules, webhooks, mqtt }: NotifySources): void {
  if (mqtt) {
    new Gauge({
      name: 'livecap_mqtt_connected',
      help: '1 while connected to the MQTT broker',
      registers: [register],
      collect() {
        this.set(mqtt.stats.connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'livecap_mqtt_buffered',
      help: 'MQTT messages waiting for the broker to come back',
      registers: [register],
      collect() {
        this.set(mqtt.stats.buffered);
      },
    });
    const mqttCounters: ['published' | 'dropped' | 'reconnects', string, string][] = [
      ['published', 'livecap_mqtt_messages_total', 'MQTT messages published'],
      ['dropped', 'livecap_mqtt_dropped_total', 'MQTT messages dropped because the buffer was full while the broker was away'],
      ['reconnects', 'livecap_mqtt_reconnects_total', 'Attempts to connect to the MQTT broker again'],
    ];
    for (const [key, name, help] of mqttCounters) {
      new Counter({
        name,
        help,
        registers: [register],
        collect() {
          this.reset();
          this.inc(mqtt.stats[key]);
        },
      });
    }
  }
  if (rules) {
    new Gauge({
      name: 'livecap_rules',
      help: 'Rules that raise alerts (from the config file and the API)',
      registers: [register],
      collect() {
        this.set(rules.list().length);
      },
    });
    const alerts = new Counter({ name: 'livecap_alerts_total', help: 'Alerts raised', labelNames: ['stream', 'rule'], registers: [register] });
    bus.subscribe((m) => {
      if (m.type === 'alert') alerts.inc({ stream: m.stream, rule: m.rule });
    });
  }
  if (!webhooks) return;
  const perHook: ['delivered' | 'retries' | 'deadLetters', string, string][] = [
    ['delivered', 'livecap_webhook_deliveries_total', 'Webhook deliveries made (answered 2xx)'],
    ['retries', 'livecap_webhook_retries_total', 'Webhook attempts that failed and will be tried again'],
    ['deadLetters', 'livecap_webhook_dead_letters_total', 'Webhook deliveries given up (kept a week in the outbox as dead letters)'],
  ];
  for (const [key, name, help] of perHook) {
    new Counter({
      name,
      help,
      labelNames: ['webhook'],
      registers: [register],
      collect() {
        this.reset();
        for (const [hook, s] of webhooks.stats()) this.inc({ webhook: hook }, s[key]);
      },
    });
  }
  new Gauge({
    name: 'livecap_webhook_outbox',
    help: 'Webhook deliveries waiting in the outbox',
    labelNames: ['webhook'],
    registers: [register],
    collect() {
      this.reset();
      for (const [hook, s] of webhooks.stats()) this.set({ webhook: hook }, s.pending);
    },
  });
  const latency = new Histogram({
    name: 'livecap_webhook_delivery_seconds',
    help: 'From an event to its webhook delivery (retries included)',
    labelNames: ['webhook'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 300, 3600],
    registers: [register],
  });
  webhooks.onDelivered((hook, seconds) => latency.observe({ webhook: hook }, seconds));
}
