/**
 * Publishes every stream's events to an MQTT broker, and Home Assistant discovery for them
 * (ha-discovery.ts):
 *
 *   <prefix>/status                 online | offline: livecap's availability (retained; offline is its last will)
 *   <prefix>/<stream>/caption       each caption event as JSON, QoS 1, the last one retained
 *   <prefix>/<stream>/caption/state the last caption's text as Home Assistant shows it (≤ 255 characters), retained
 *   <prefix>/<stream>/summary       each summary as JSON (its text also in …/summary/state, retained)
 *   <prefix>/<stream>/status        the stream's state as JSON, retained; …/availability online | offline
 *   <prefix>/<stream>/alert         each alert as JSON, QoS 1
 *   <prefix>/<stream>/rule/<id>     ON | OFF: whether the rule matches the stream's latest caption, retained
 *
 * While the broker is away the client reconnects with backoff (1 s doubling to 30 s). Retained
 * topics are kept here, their latest value only, and all published again at each connection (a
 * broker restarted without persistence has forgotten them); other messages wait in a bounded
 * buffer (oldest dropped first, counted). mqtt.js's own offline queue is not used: it has no bound.
 * Discovery is published at each connection, when Home Assistant says it came online
 * (`homeassistant/status`), and when streams or rules change; an entity whose stream or rule is
 * gone is removed (an empty retained config).
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { StreamMessage } from '../core/events.js';
import type { RuleBook } from '../rules/rule-book.js';
import { log } from '../util/log.js';
import { redactUrl } from '../util/redact.js';
import { type DiscoveryContext, haState, streamDiscovery, topics } from './ha-discovery.js';

export interface MqttSettings {
  /** mqtt://HOST:1883 or mqtts://HOST:8883 (TLS). */
  url: string;
  username?: string;
  password?: string;
  clientId?: string;
  topicPrefix: string;
  /** Home Assistant discovery: on (default), under this prefix. */
  discovery: boolean;
  discoveryPrefix: string;
  /** TLS: a CA file to trust (PEM), a client certificate and key, and whether to check the broker's certificate (default true). */
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  /** Messages kept while the broker is away (default 1,000); beyond it the oldest are dropped. */
  maxBuffer: number;
  /** The server's address as people reach it: makes keyframe URLs absolute and links Home Assistant devices to the viewer. */
  publicUrl?: string;
}

export interface MqttStats {
  connected: boolean;
  published: number;
  buffered: number;
  dropped: number;
  reconnects: number;
}

interface Pending {
  topic: string;
  payload: string;
}

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

export class MqttPublisher {
  readonly stats: MqttStats = { connected: false, published: 0, buffered: 0, dropped: 0, reconnects: 0 };
  private readonly client: MqttClient;
  private readonly buffer: Pending[] = [];
  /** Retained topics and their latest payload: published again at every connection. */
  private readonly retained = new Map<string, string>();
  /** Discovery configs as last published (topic → JSON), to publish only changes and remove what went. */
  private readonly discovered = new Map<string, string>();
  private readonly ctx: DiscoveryContext;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly reconcileTimer: NodeJS.Timeout;
  private retryMs = RETRY_FIRST_MS;
  private closed = false;

  constructor(
    private readonly settings: MqttSettings,
    private readonly sources: { streams: () => string[]; rules?: RuleBook; subscribe: (listener: (m: StreamMessage) => void) => () => void; version: string },
  ) {
    const p = settings.topicPrefix;
    this.ctx = { topicPrefix: p, discoveryPrefix: settings.discoveryPrefix, base: p.replace(/[^A-Za-z0-9_-]/g, '_'), version: sources.version, publicUrl: settings.publicUrl };
    const options: IClientOptions = {
      clientId: settings.clientId ?? `${this.ctx.base}-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      username: settings.username,
      password: settings.password,
      will: { topic: `${p}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
      reconnectPeriod: RETRY_FIRST_MS,
      connectTimeout: 10_000,
      keepalive: 30,
      queueQoSZero: false,
      ...(settings.ca && { ca: readFileSync(settings.ca) }),
      ...(settings.cert && { cert: readFileSync(settings.cert) }),
      ...(settings.key && { key: readFileSync(settings.key) }),
      ...(settings.rejectUnauthorized === false && { rejectUnauthorized: false }),
    };
    this.client = mqtt.connect(settings.url, options);
    this.client.on('connect', () => this.connected());
    this.client.on('close', () => this.disconnected());
    // mqtt.js reconnects by itself; each failed try waits longer, up to RETRY_MAX_MS.
    this.client.on('reconnect', () => {
      this.stats.reconnects++;
      this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
      this.client.options.reconnectPeriod = this.retryMs;
    });
    this.client.on('error', (err) => log.warn('mqtt: broker error', { broker: redactUrl(settings.url), error: err.message }));
    this.client.on('message', (topic, payload) => {
      // Home Assistant came (back) online: it wants the discovery configs again.
      if (topic === `${settings.discoveryPrefix}/status` && payload.toString() === 'online') this.rediscover();
    });
    this.unsubscribe.push(sources.subscribe((m) => this.event(m)));
    if (sources.rules) this.unsubscribe.push(sources.rules.onFiring((c) => this.publishRetained(topics(p, c.stream).rule(c.rule), c.on ? 'ON' : 'OFF')));
    // Streams and rules added or removed over the API show up here within seconds.
    this.reconcileTimer = setInterval(() => this.reconcile(), 5000);
    this.reconcileTimer.unref();
    log.info('mqtt: publishing', { broker: redactUrl(settings.url), prefix: p, discovery: settings.discovery ? settings.discoveryPrefix : false });
  }

  private connected(): void {
    const first = this.stats.reconnects === 0 && !this.stats.connected;
    this.stats.connected = true;
    this.retryMs = RETRY_FIRST_MS;
    this.client.options.reconnectPeriod = RETRY_FIRST_MS;
    log.info(first ? 'mqtt: connected' : 'mqtt: connected again', { broker: redactUrl(this.settings.url), waiting: this.buffer.length });
    this.send(`${this.settings.topicPrefix}/status`, 'online', true);
    if (this.settings.discovery) this.client.subscribe(`${this.settings.discoveryPrefix}/status`, { qos: 1 });
    this.discovered.clear();
    this.reconcile();
    for (const [topic, payload] of this.retained) this.send(topic, payload, true);
    for (const m of this.buffer.splice(0)) this.send(m.topic, m.payload, false);
    this.stats.buffered = 0;
  }

  private disconnected(): void {
    if (this.stats.connected && !this.closed) log.warn('mqtt: broker connection lost; reconnecting', { broker: redactUrl(this.settings.url) });
    this.stats.connected = false;
  }

  private send(topic: string, payload: string, retain: boolean): void {
    this.client.publish(topic, payload, { qos: 1, retain });
    this.stats.published++;
  }

  /** A retained topic: kept (latest only) and published now if the broker is there. */
  private publishRetained(topic: string, payload: string): void {
    if (this.retained.get(topic) === payload && !this.stats.connected) return;
    this.retained.set(topic, payload);
    if (this.stats.connected) this.send(topic, payload, true);
  }

  /** An event message: published now, or kept in the bounded buffer while the broker is away. */
  private publishEvent(topic: string, payload: string): void {
    if (this.stats.connected) return this.send(topic, payload, false);
    this.buffer.push({ topic, payload });
    if (this.buffer.length > this.settings.maxBuffer) {
      this.buffer.shift();
      this.stats.dropped++;
      if (this.stats.dropped === 1 || this.stats.dropped % 1000 === 0)
        log.warn('mqtt: the broker is away and the buffer is full; dropping the oldest messages', { dropped: this.stats.dropped, max: this.settings.maxBuffer });
    }
    this.stats.buffered = this.buffer.length;
  }

  private absolute(url: string | undefined): string | undefined {
    return url && this.settings.publicUrl ? `${this.settings.publicUrl.replace(/\/$/, '')}${url}` : url;
  }

  private event(m: StreamMessage): void {
    const t = topics(this.settings.topicPrefix, m.stream);
    switch (m.type) {
      case 'caption': {
        const json = JSON.stringify({ ...m, keyframeUrl: this.absolute(m.keyframeUrl) });
        // Retained: a client that subscribes later gets the last caption at once.
        this.publishRetained(t.caption, json);
        // A scene the captioner does not know has no caption worth showing (the text is in the attributes).
        this.publishRetained(t.captionState, m.outOfDomain ? 'Scene not recognised by the captioner' : haState(m.text));
        return;
      }
      case 'summary':
        this.publishEvent(t.summary, JSON.stringify(m));
        this.publishRetained(t.summaryState, haState(m.text));
        return;
      case 'alert': {
        const json = JSON.stringify({ ...m, keyframeUrl: this.absolute(m.keyframeUrl) });
        this.publishEvent(t.alert, json);
        this.publishRetained(`${t.rule(m.rule)}/attributes`, json);
        return;
      }
      case 'status':
        this.publishRetained(t.status, JSON.stringify(m));
        this.publishRetained(t.availability, m.state === 'live' ? 'online' : 'offline');
        this.reconcile();
        return;
    }
  }

  private rediscover(): void {
    this.discovered.clear();
    // Home Assistant's advice: a moment's random delay, so not every integration answers at once.
    setTimeout(() => this.reconcile(), Math.random() * 2000).unref();
  }

  /** Publishes the discovery configs that changed, and removes those of streams and rules that went. */
  private reconcile(): void {
    if (!this.settings.discovery || !this.stats.connected || this.closed) return;
    const rules = this.sources.rules?.list() ?? [];
    const wanted = new Map<string, string>();
    for (const stream of this.sources.streams()) {
      const watching = rules.filter((r) => !r.streams || r.streams.includes(stream)).map((r) => ({ id: r.id, name: r.name ?? r.id }));
      for (const [topic, payload] of streamDiscovery(this.ctx, stream, watching)) wanted.set(topic, JSON.stringify(payload));
    }
    for (const [topic, json] of wanted) {
      if (this.discovered.get(topic) === json) continue;
      this.send(topic, json, true);
      this.discovered.set(topic, json);
    }
    for (const topic of [...this.discovered.keys()]) {
      if (wanted.has(topic)) continue;
      this.send(topic, '', true);
      this.discovered.delete(topic);
    }
  }

  /** Says offline, stops. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.reconcileTimer);
    for (const stop of this.unsubscribe) stop();
    // A broker that does not answer must not hold up the stop: its last will says offline anyway.
    const said = this.stats.connected
      ? new Promise<void>((resolve) => this.client.publish(`${this.settings.topicPrefix}/status`, 'offline', { qos: 1, retain: true }, () => resolve()))
      : Promise.resolve();
    await Promise.race([said, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    await this.client.endAsync(true);
  }
}
