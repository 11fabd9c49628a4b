/**
 * The settings of `livecap serve` as one validated object: defaults (one literal, below), then
 * the config file (`--config FILE`, JSON), then command-line flags, then tokens from the
 * environment. Every problem, wherever it came from, is listed in one error.
 *
 *   {
 *     "host": "127.0.0.1", "port": 8080, "mediaDir": "/srv/media",
 *     "sources": { "cam1": "rtsp://…" },
 *     "captioner": "embedded", "captioners": { "cam2": "onnx:models/Xenova/vit-gpt2-image-captioning",
 *       "cam3": { "kind": "openai", "baseUrl": "http://127.0.0.1:11434/v1", "model": "llava:7b" },
 *       "cam4": { "kind": "onnx", "path": "models/onnx-community/Florence-2-base-ft", "task": "<DETAILED_CAPTION>" } },
 *     "prompts": { "cam3": "Is anyone at the door? Answer in one sentence.", "cam4": "<MORE_DETAILED_CAPTION>" },
 *     "summarizer": "embedded", "summaryWindow": 20, "summaryHop": 10, "dtype": "auto",
 *     "fps": 10, "analysisSize": "160x120",
 *     "history": { "path": "/var/lib/livecap/history.db", "days": 30, "maxEvents": 1000000, "maxMb": 0 },
 *     "auth": { "viewerTokens": ["…"], "adminTokens": ["…"] },
 *     "maxStreams": 64, "corsOrigins": ["https://dash.example.com"], "allowedHosts": ["cams.example.com"]
 *   }
 */
import { randomBytes } from 'node:crypto';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { EMBEDDED_CAPTIONER, EMBEDDED_SUMMARIZER } from '../paths.js';
import { onnxCaptionerSpec, parseCaptionerSpec } from '../models/captioner/spec.js';
import { parseDtype, splitModelSpec, type DtypeChoice } from '../models/seq2seq/dtype.js';
import { checkOpenAiSpec, isOpenAiFlag, openAiCaptionerName, type OpenAiCaptionerSpec } from '../models/openai/spec.js';
import { tokensFromEnv } from '../stream/auth.js';
import { hostName, originOf } from '../stream/cross-site.js';
import { UsageError } from '../util/usage-error.js';
import { MAX_PROMPT_LENGTH, PROMPT_CONTROL_CHARACTERS, STREAM_ID } from '../core/stream-id.js';
import { redactUrl } from '../util/redact.js';
import { HISTORY_DEFAULTS } from '../store/history-options.js';
import { OnnxCaptionerObject, readConfigFile } from './config-file.js';
import { problemsOf } from '../util/problems.js';
import { clusterTiming, type ClusterTiming } from '../cluster/worker.js';
import { checkRule } from '../rules/rule-book.js';
import type { RuleSpec } from '../rules/rule.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType, type WebhookSpec } from '../notify/webhooks.js';
import type { ConfigFile } from './config-file.js';
import type { MqttSettings } from '../notify/mqtt-publisher.js';
import { LIVE_VIDEO_DEFAULTS } from '../stream/live-video.js';
import { existsSync } from 'node:fs';

/** A captioner spec string (a model folder, onnx:DIR) or a vision-language model server. */
export type CaptionerSetting = string | OpenAiCaptionerSpec;

export interface ServeSettings {
  host: string;
  port: number;
  mediaDir?: string;
  sources: { id: string; url: string }[];
  /** The default captioner, and streams' own: a spec string, or a model server's settings. */
  captioner: CaptionerSetting;
  captioners: Map<string, CaptionerSetting>;
  /** Streams' own prompts for their captioners (a Florence-2 task, a model server's prompt). */
  prompts: Map<string, string>;
  /** A summarizer folder (with ?dtype=NAME to choose a variant), or 'none'. */
  summarizer: string;
  /**
   * The variant of every ONNX export (onnx: captioners, the summarizer) whose spec names none
   * (seq2seq/dtype.ts); undefined: auto. The embedded models have only fp32 and keep it.
   */
  dtype?: DtypeChoice;
  summaryWindowS: number;
  summaryHopS: number;
  fps: number;
  analysis: { width: number; height: number };
  /** maxMb: the most the history file may hold, in MiB (0: no cap). */
  history: { path: string; days: number; maxEvents: number; maxMb: number };
  auth: { viewerTokens: string[]; adminTokens: string[] };
  /** The most streams running at once (command-line sources included). */
  maxStreams: number;
  /** Origins that may read (CORS) and open /ws besides the server's own. */
  corsOrigins: string[];
  /** Host names answered on loopback besides localhost, 127.0.0.1 and [::1]. */
  allowedHosts: string[];
  /** The most seconds one caption or summary may take before its model's worker is replaced. */
  modelTimeoutS: number;
  /** Rules that raise alerts (rules/rule.ts), from the config file. */
  rules: RuleSpec[];
  /** Webhooks that get events, their secrets read (from the file or the environment). */
  webhooks: WebhookSpec[];
  /** An MQTT broker to publish to, with Home Assistant discovery. */
  mqtt?: MqttSettings;
  /** Live video (HLS while watched): when it stops, its segments, its encoding. */
  liveVideo: LiveVideoSettings;
  /** One node of a cluster on Redis (serve --cluster), or alone. */
  cluster?: { url: string; role: 'all' | 'worker' | 'web'; nodeId: string; capacity?: number; timing?: ClusterTiming };
}

/** Where history goes unless told otherwise: the user's state folder. */
export const DEFAULT_HISTORY = join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'livecap', 'history.db');

export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  fps: 10,
  analysisSize: '160x120',
  /** The embedded summarizer learned windows of up to six scenes; pretrained ones take a minute. */
  embeddedSummaryWindow: { window: 20, hop: 10 },
  summaryWindow: { window: 60, hop: 15 },
  historyDays: HISTORY_DEFAULTS.maxAgeMs / 86_400_000,
  historyMaxEvents: HISTORY_DEFAULTS.maxEvents,
  maxStreams: 64,
  historyMaxMb: 0,
  modelTimeoutS: 30,
} as const;

/** The command-line flags as parsed (strings), for the fields they can set. */
export interface ServeFlags {
  source?: string[];
  port?: string;
  host?: string;
  'media-dir'?: string;
  model?: string;
  captioner?: string[];
  prompt?: string[];
  fps?: string;
  'analysis-size'?: string;
  summarizer?: string;
  'summary-window'?: string;
  'summary-hop'?: string;
  history?: string;
  'history-days'?: string;
  'history-max-events'?: string;
  'max-streams'?: string;
  'cors-origin'?: string[];
  'allowed-host'?: string[];
  'history-max-mb'?: string;
  'model-timeout'?: string;
  dtype?: string;
  cluster?: string;
  role?: string;
  'node-id'?: string;
}

/** Collects problems instead of stopping at the first. */
class Problems {
  readonly list: string[] = [];
  add(where: string, what: string): undefined {
    this.list.push(`${where}: ${what}`);
    return undefined;
  }
}

function flagNumber(p: Problems, name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : p.add(`--${name}`, `must be a number, got '${value}'`);
}

/**
 * A captioner as the file or a flag gives it: a spec string ('embedded', a model folder,
 * onnx:DIR, onnx:DIR<TASK>, openai:MODEL@BASEURL) or an object such as {"kind": "openai", …}
 * or {"kind": "onnx", "path": DIR, "task": TASK}; undefined (and
 * the problems noted) when it is wrong.
 */
function captionerSetting(p: Problems, value: unknown, where: string, env: NodeJS.ProcessEnv): CaptionerSetting | undefined {
  if (value === 'embedded') return EMBEDDED_CAPTIONER;
  if (typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'onnx') return onnxSetting(p, value as Record<string, unknown>, where);
  if (typeof value === 'string' && !isOpenAiFlag(value)) {
    try {
      parseCaptionerSpec(value);
      return value;
    } catch (err) {
      return p.add(where, (err as Error).message);
    }
  }
  const { spec, problems } = checkOpenAiSpec(value, env);
  for (const problem of problems) p.add(where, problem);
  return spec;
}

/** An ONNX export in the file's object form (config-file.ts), kept as the spec string `onnx:DIR<TASK>`. */
function onnxSetting(p: Problems, value: Record<string, unknown>, where: string): string | undefined {
  const result = OnnxCaptionerObject.safeParse(value);
  if (!result.success) {
    p.list.push(...problemsOf(result.error, where));
    return undefined;
  }
  return onnxCaptionerSpec(result.data.path, result.data.task);
}

export function resolveServeSettings(flags: ServeFlags, file: unknown = {}, fileName = 'config', env: NodeJS.ProcessEnv = process.env): ServeSettings {
  const p = new Problems();
  const { config: f, problems } = readConfigFile(file, fileName);
  p.list.push(...problems);
  const history = f.history ?? {};
  const auth = f.auth ?? {};

  // Sources: the file's, then --source NAME=URL.
  const sources = new Map(Object.entries(f.sources ?? {}));
  for (const s of flags.source ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0 || !STREAM_ID.test(s.slice(0, eq))) p.add('--source', `must be NAME=URL with a name of letters, digits, - or _; got '${redactUrl(s)}'`);
    else sources.set(s.slice(0, eq), s.slice(eq + 1));
  }
  const streamIds = sources.size ? [...sources.keys()] : ['demo'];

  // Captioners: the file's default and per-stream ones, then --model / --captioner.
  const perStream = new Map<string, CaptionerSetting>();
  for (const [id, v] of Object.entries(f.captioners ?? {})) {
    const setting = captionerSetting(p, v, `${fileName} captioners.${id}`, env);
    if (setting !== undefined) perStream.set(id, setting);
  }
  let captioner = f.captioner === undefined ? undefined : captionerSetting(p, f.captioner, `${fileName} captioner`, env);
  const defaults: string[] = flags.model === undefined ? [] : [flags.model];
  for (const flag of flags.captioner ?? []) {
    const eq = flag.indexOf('=');
    if (eq <= 0 || !STREAM_ID.test(flag.slice(0, eq))) defaults.push(flag);
    else {
      const setting = captionerSetting(p, flag.slice(eq + 1), `--captioner ${flag.slice(0, eq)}`, env);
      if (setting !== undefined) perStream.set(flag.slice(0, eq), setting);
    }
  }
  if (defaults.length > 1) p.add('--captioner/--model', `more than one default captioner given (${defaults.map((d) => redactUrl(d)).join(', ')}); name a stream with STREAM=SPEC`);
  if (defaults.length) captioner = captionerSetting(p, defaults[0], '--captioner', env);
  captioner ??= EMBEDDED_CAPTIONER;
  for (const id of perStream.keys()) {
    if (!streamIds.includes(id)) p.add(`captioner for '${id}'`, `there is no stream '${id}' (streams: ${streamIds.join(', ')})`);
  }
  // Prompts per stream: the file's, then --prompt STREAM=TEXT. Whether the stream's captioner
  // takes one is checked when the stream starts (the captioner must be loaded to tell).
  const prompts = new Map(Object.entries(f.prompts ?? {}));
  for (const flag of flags.prompt ?? []) {
    const eq = flag.indexOf('=');
    if (eq <= 0 || !STREAM_ID.test(flag.slice(0, eq))) p.add('--prompt', `must be STREAM=TEXT with a stream name of letters, digits, - or _; got '${flag}'`);
    else prompts.set(flag.slice(0, eq), flag.slice(eq + 1));
  }
  for (const [id, text] of prompts) {
    if (!streamIds.includes(id)) p.add(`prompt for '${id}'`, `there is no stream '${id}' (streams: ${streamIds.join(', ')})`);
    if (!text.trim()) p.add(`prompt for '${id}'`, 'must not be empty');
    else if (text.length > MAX_PROMPT_LENGTH) p.add(`prompt for '${id}'`, `must be at most ${MAX_PROMPT_LENGTH} characters, got ${text.length}`);
    else if (PROMPT_CONTROL_CHARACTERS.test(text)) p.add(`prompt for '${id}'`, 'must not contain control characters (line breaks and tabs are fine)');
  }
  // A model server captioner is known by its name (openai:MODEL@BASEURL): one name, one setting.
  const servers = new Map<string, string>();
  for (const setting of [captioner, ...perStream.values()]) {
    if (typeof setting === 'string') continue;
    const name = openAiCaptionerName(setting);
    const json = JSON.stringify(setting, Object.keys(setting).sort());
    if (servers.has(name) && servers.get(name) !== json) p.add('captioners', `${name} is given with different settings (prompt, key, timeout or limit); give it once, or the same each time`);
    servers.set(name, json);
  }

  let summarizer = flags.summarizer ?? f.summarizer ?? 'embedded';
  if (summarizer === 'embedded') summarizer = EMBEDDED_SUMMARIZER;
  try {
    splitModelSpec(summarizer);
  } catch (err) {
    p.add('summarizer', (err as Error).message);
  }
  const dtypeText = flags.dtype ?? f.dtype;
  let dtype: DtypeChoice | undefined;
  try {
    dtype = dtypeText === undefined ? undefined : parseDtype(dtypeText, flags.dtype === undefined ? `${fileName} dtype` : '--dtype');
  } catch (err) {
    p.list.push((err as Error).message);
  }
  const windows = summarizer === EMBEDDED_SUMMARIZER ? SERVE_DEFAULTS.embeddedSummaryWindow : SERVE_DEFAULTS.summaryWindow;
  const summaryWindowS = flagNumber(p, 'summary-window', flags['summary-window']) ?? f.summaryWindow ?? windows.window;
  const summaryHopS = flagNumber(p, 'summary-hop', flags['summary-hop']) ?? f.summaryHop ?? windows.hop;
  if (!(summaryWindowS > 0 && summaryHopS > 0 && summaryHopS <= summaryWindowS))
    p.add('summary window', `the hop must be above 0 and at most the window (got a ${summaryHopS} s hop and a ${summaryWindowS} s window)`);

  const port = flagNumber(p, 'port', flags.port) ?? f.port ?? SERVE_DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) p.add('port', `must be a whole number from 0 to 65535, got ${port}`);
  const fps = flagNumber(p, 'fps', flags.fps) ?? f.fps ?? SERVE_DEFAULTS.fps;
  if (!(fps > 0 && fps <= 30)) p.add('fps', `must be above 0 and at most 30, got ${fps}`);
  const sizeText = flags['analysis-size'] ?? f.analysisSize ?? SERVE_DEFAULTS.analysisSize;
  const size = /^(\d+)x(\d+)$/.exec(sizeText);
  const analysis = { width: Number(size?.[1] ?? 0), height: Number(size?.[2] ?? 0) };
  if (!size || analysis.width < 16 || analysis.height < 16 || analysis.width > 1920 || analysis.height > 1080)
    p.add('analysis size', `must be WIDTHxHEIGHT between 16x16 and 1920x1080, got '${sizeText}'`);

  const days = flagNumber(p, 'history-days', flags['history-days']) ?? history.days ?? SERVE_DEFAULTS.historyDays;
  const maxEvents = flagNumber(p, 'history-max-events', flags['history-max-events']) ?? history.maxEvents ?? SERVE_DEFAULTS.historyMaxEvents;
  if (days !== undefined && !(days > 0)) p.add('history days', `must be above 0, got ${days}`);
  if (maxEvents !== undefined && !(Number.isInteger(maxEvents) && maxEvents > 0)) p.add('history max events', `must be a whole number above 0, got ${maxEvents}`);
  const maxMb = flagNumber(p, 'history-max-mb', flags['history-max-mb']) ?? history.maxMb ?? SERVE_DEFAULTS.historyMaxMb;
  if (maxMb !== undefined && !(maxMb >= 0)) p.add('history max MiB', `must be 0 (no cap) or above, got ${maxMb}`);
  const historyPath = flags.history ?? history.path ?? DEFAULT_HISTORY;

  const tokens = (key: 'viewerTokens' | 'adminTokens', envName: string) => {
    const list = [...(auth[key] ?? []), ...tokensFromEnv(env[envName])];
    if (list.some((t) => t.length < 8)) p.add(key, 'tokens must be at least 8 characters long');
    return list;
  };
  const viewerTokens = tokens('viewerTokens', 'LIVECAP_VIEWER_TOKENS');
  const adminTokens = tokens('adminTokens', 'LIVECAP_ADMIN_TOKENS');

  const modelTimeoutS = flagNumber(p, 'model-timeout', flags['model-timeout']) ?? f.modelTimeout ?? SERVE_DEFAULTS.modelTimeoutS;
  if (!(modelTimeoutS >= 1 && modelTimeoutS <= 3600)) p.add('model timeout', `must be from 1 to 3600 seconds, got ${modelTimeoutS}`);

  const host = flags.host ?? f.host ?? SERVE_DEFAULTS.host;

  const maxStreams = flagNumber(p, 'max-streams', flags['max-streams']) ?? f.maxStreams ?? SERVE_DEFAULTS.maxStreams;
  if (!(Number.isInteger(maxStreams) && maxStreams > 0)) p.add('max streams', `must be a whole number above 0, got ${maxStreams}`);
  else if (sources.size > maxStreams) p.add('max streams', `${sources.size} sources are configured but at most ${maxStreams} streams may run`);
  const corsOrigins = [...(f.corsOrigins ?? []), ...(flags['cors-origin'] ?? [])].flatMap((o) => {
    const origin = originOf(o);
    return origin ? [origin] : (p.add('cors origin', `must be an origin like https://dash.example.com (scheme, host and port only), got '${o}'`), []);
  });
  const allowedHosts = [...(f.allowedHosts ?? []), ...(flags['allowed-host'] ?? [])].flatMap((h) => {
    const name = /^[A-Za-z0-9.\-[\]:]+$/.test(h) && !/:\d*$/.test(h.replace(/^\[.*\]$/, '')) ? hostName(h) : undefined;
    return name ? [name] : (p.add('allowed host', `must be a host name like cams.example.com (no scheme, port or path), got '${h}'`), []);
  });
  const mediaDir = flags['media-dir'] ?? f.mediaDir;
  const cluster = clusterSettings(p, flags, f.cluster);
  const rules = ruleSettings(p, f.rules ?? [], fileName, cluster !== undefined);
  const webhooks = webhookSettings(p, f.webhooks ?? [], fileName, env, cluster !== undefined);
  const mqtt = f.mqtt && mqttSettings(p, f.mqtt, fileName, env, cluster !== undefined);
  const liveVideo = liveVideoSettings(p, f.liveVideo ?? {}, fileName);

  if (p.list.length) throw new UsageError(`livecap serve: ${p.list.length === 1 ? 'a setting is' : `${p.list.length} settings are`} wrong:\n  - ${p.list.join('\n  - ')}`);
  return {
    host,
    port,
    mediaDir,
    sources: [...sources].map(([id, url]) => ({ id, url })),
    captioner,
    captioners: perStream,
    prompts,
    summarizer,
    dtype,
    summaryWindowS,
    summaryHopS,
    fps,
    analysis,
    history: { path: historyPath, days: days!, maxEvents: maxEvents!, maxMb: maxMb! },
    auth: { viewerTokens, adminTokens },
    maxStreams,
    corsOrigins,
    allowedHosts,
    modelTimeoutS,
    rules,
    webhooks,
    ...(mqtt && { mqtt }),
    liveVideo,
    ...(cluster && { cluster }),
  };
}

export interface LiveVideoSettings {
  idleSeconds: number;
  maxStreams: number;
  captionHoldMs: number;
  hls: { segmentSeconds: number; maxHeight: number; bitrateKbps: number };
}

/** Live video's settings, each within what makes sense (a segment of 1-10 s, at most 2160 lines…). */
function liveVideoSettings(p: Problems, v: NonNullable<ConfigFile['liveVideo']>, fileName: string): LiveVideoSettings {
  const where = `${fileName} liveVideo`;
  const d = LIVE_VIDEO_DEFAULTS;
  const within = (name: string, value: number, min: number, max: number, whole = false) => {
    if (!(value >= min && value <= max) || (whole && !Number.isInteger(value))) p.add(`${where} ${name}`, `must be ${whole ? 'a whole number ' : ''}from ${min} to ${max}, got ${value}`);
    return value;
  };
  return {
    idleSeconds: within('idleSeconds', v.idleSeconds ?? d.idleSeconds, 2, 3600),
    maxStreams: within('maxStreams', v.maxStreams ?? d.maxStreams, 0, 1000, true),
    captionHoldMs: within('captionHoldSeconds', v.captionHoldSeconds ?? d.captionHoldMs / 1000, 0, 30) * 1000,
    hls: {
      segmentSeconds: within('segmentSeconds', v.segmentSeconds ?? d.hls.segmentSeconds, 1, 10, true),
      maxHeight: within('maxHeight', v.maxHeight ?? d.hls.maxHeight, 120, 2160, true),
      bitrateKbps: within('bitrateKbps', v.bitrateKbps ?? d.hls.bitrateKbps, 100, 20_000, true),
    },
  };
}

/** The file's rules, each checked as the API checks one (its values together), ids once each. */
function ruleSettings(p: Problems, rules: RuleSpec[], fileName: string, clustered: boolean): RuleSpec[] {
  if (rules.length && clustered) p.add(`${fileName} rules`, 'rules and alerts run on a single server for now, not with --cluster');
  const seen = new Set<string>();
  // Named by id: a rule with a problem in its form was left out of the list already.
  return rules.filter((rule) => {
    if (seen.has(rule.id)) return p.add(`${fileName} rules`, `rule id '${rule.id}' is given more than once`) ?? false;
    seen.add(rule.id);
    try {
      checkRule(rule);
      return true;
    } catch (err) {
      return p.add(`${fileName} rules`, (err as Error).message) ?? false;
    }
  });
}

const ROLES = ['all', 'worker', 'web'] as const;

/** The cluster settings: a redis:// or rediss:// URL (an optional /DB), a role, a node id (default: host name and 4 hex digits). */
function clusterSettings(p: Problems, flags: ServeFlags, file: { url?: string; role?: string; nodeId?: string; capacity?: number; leaseSeconds?: number } = {}): ServeSettings['cluster'] {
  const url = flags.cluster ?? file.url;
  const role = flags.role ?? file.role;
  const nodeId = flags['node-id'] ?? file.nodeId;
  if (url === undefined) {
    if (role !== undefined || nodeId !== undefined) p.add('cluster', '--role and --node-id need --cluster redis://HOST:PORT');
    return undefined;
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // Said below.
  }
  if (!parsed || !['redis:', 'rediss:'].includes(parsed.protocol) || !parsed.hostname) p.add('cluster', `must be redis://HOST:PORT[/DB] or rediss://…, got '${redactUrl(url)}'`);
  else if (!/^\/?(\d{1,2})?$/.test(parsed.pathname)) p.add('cluster', `the database must be a number like /0, got '${parsed.pathname}'`);
  if (role !== undefined && !(ROLES as readonly string[]).includes(role)) p.add('role', `must be all, worker or web, got '${role}'`);
  const id =
    nodeId ??
    `${hostname()
      .replace(/[^A-Za-z0-9_-]/g, '-')
      .slice(0, 50)}-${randomBytes(2).toString('hex')}`;
  if (!STREAM_ID.test(id)) p.add('node id', `must be 1-64 letters, digits, - or _, got '${id}'`);
  if (file.capacity !== undefined && !(Number.isInteger(file.capacity) && file.capacity >= 0)) p.add('cluster capacity', `must be a whole number, 0 or above, got ${file.capacity}`);
  const lease = file.leaseSeconds;
  if (lease !== undefined && !(Number.isFinite(lease) && lease >= 1 && lease <= 300)) p.add('cluster leaseSeconds', `must be a number of seconds from 1 to 300, got ${lease}`);
  return {
    url,
    role: (role ?? 'all') as 'all' | 'worker' | 'web',
    nodeId: id,
    ...(file.capacity !== undefined && { capacity: file.capacity }),
    ...(lease !== undefined && { timing: clusterTiming(lease * 1000) }),
  };
}

/**
 * The file's webhooks: an http(s) URL, a secret (from the file, or from the environment with
 * secretEnv, so the file can be shared), the events wanted (default: alerts), ids once each.
 * Nothing here names a URL's path or a secret: a chat service's webhook URL holds its token.
 */
function webhookSettings(p: Problems, hooks: NonNullable<ConfigFile['webhooks']>, fileName: string, env: NodeJS.ProcessEnv, clustered: boolean): WebhookSpec[] {
  if (hooks.length && clustered) p.add(`${fileName} webhooks`, 'webhooks run on a single server for now, not with --cluster');
  const ids = new Set<string>();
  return hooks.flatMap((hook, i): WebhookSpec[] => {
    const id = hook.id ?? `webhook-${i + 1}`;
    // Named by id (a webhook with a problem in its form was left out of the list already).
    const where = `${fileName} webhook '${id}'`;
    const before = p.list.length;
    if (!STREAM_ID.test(id)) p.add(where, `id must be 1-64 letters, digits, '-' or '_'; got ${JSON.stringify(id)}`);
    else if (ids.has(id)) p.add(where, `id '${id}' is given to more than one webhook`);
    ids.add(id);
    let url: URL | undefined;
    try {
      url = hook.url === undefined ? undefined : new URL(hook.url);
    } catch {
      // Said below.
    }
    if (!url || !['http:', 'https:'].includes(url.protocol)) p.add(where, 'url must be an http:// or https:// URL');
    if (hook.secret !== undefined && hook.secretEnv !== undefined) p.add(where, 'give secret or secretEnv, not both');
    const secret = hook.secret ?? (hook.secretEnv === undefined ? undefined : env[hook.secretEnv]);
    if (secret === undefined)
      p.add(
        where,
        hook.secretEnv === undefined
          ? 'a secret is needed to sign deliveries: secret, or secretEnv naming an environment variable'
          : `the environment variable ${hook.secretEnv} (secretEnv) is not set`,
      );
    else if (secret.length < 16) p.add(where, 'the secret must be at least 16 characters long');
    const events = (hook.events ?? ['alert']) as WebhookEventType[];
    const unknown = events.filter((e) => !WEBHOOK_EVENT_TYPES.includes(e));
    if (unknown.length) p.add(where, `events must be among ${WEBHOOK_EVENT_TYPES.join(', ')}; got ${unknown.map((e) => JSON.stringify(e)).join(', ')}`);
    if (events.length === 0) p.add(where, 'events must name at least one of ' + WEBHOOK_EVENT_TYPES.join(', '));
    for (const stream of hook.streams ?? []) if (!STREAM_ID.test(stream)) p.add(where, `streams: ${JSON.stringify(stream)} is not a stream id`);
    const timeout = hook.timeout ?? 10;
    if (!(timeout > 0 && timeout <= 120)) p.add(where, `timeout must be above 0 and at most 120 seconds, got ${timeout}`);
    for (const name of Object.keys(hook.headers ?? {})) {
      if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) p.add(where, `headers: ${JSON.stringify(name)} is not a header name`);
      else if (/^(content-type|webhook-|idempotency-key$|host$|content-length$)/i.test(name)) p.add(where, `headers: ${name} is set by livecap`);
    }
    if (p.list.length > before) return [];
    return [{ id, url: url!.href, secret: secret!, events, ...(hook.streams && { streams: hook.streams }), ...(hook.headers && { headers: hook.headers }), timeoutMs: timeout * 1000 }];
  });
}

/** A topic level livecap may use: no wildcards, no empty levels. */
const TOPIC_PREFIX = /^[^#+/\u0000]+(\/[^#+/\u0000]+)*$/;

/** The MQTT broker: mqtt:// or mqtts://, a password from the file or the environment, TLS files that exist. */
function mqttSettings(p: Problems, m: NonNullable<ConfigFile['mqtt']>, fileName: string, env: NodeJS.ProcessEnv, clustered: boolean): MqttSettings | undefined {
  const where = `${fileName} mqtt`;
  const before = p.list.length;
  if (clustered) p.add(where, 'MQTT runs on a single server for now, not with --cluster');
  let url: URL | undefined;
  try {
    url = m.url === undefined ? undefined : new URL(m.url);
  } catch {
    // Said below.
  }
  if (!url || !['mqtt:', 'mqtts:'].includes(url.protocol) || !url.hostname)
    p.add(where, `url must be mqtt://HOST:1883 or mqtts://HOST:8883${m.url === undefined ? '' : `, got '${redactUrl(m.url)}'`}`);
  if (m.password !== undefined && m.passwordEnv !== undefined) p.add(where, 'give password or passwordEnv, not both');
  const password = m.password ?? (m.passwordEnv === undefined ? undefined : env[m.passwordEnv]);
  if (m.passwordEnv !== undefined && password === undefined) p.add(where, `the environment variable ${m.passwordEnv} (passwordEnv) is not set`);
  const topicPrefix = m.topicPrefix ?? 'livecap';
  const discoveryPrefix = m.discoveryPrefix ?? 'homeassistant';
  if (!TOPIC_PREFIX.test(topicPrefix)) p.add(where, `topicPrefix must be topic levels without + or #, got ${JSON.stringify(topicPrefix)}`);
  if (!TOPIC_PREFIX.test(discoveryPrefix)) p.add(where, `discoveryPrefix must be topic levels without + or #, got ${JSON.stringify(discoveryPrefix)}`);
  for (const file of ['ca', 'cert', 'key'] as const) if (m[file] !== undefined && !existsSync(m[file]!)) p.add(where, `${file}: no file ${m[file]}`);
  const maxBuffer = m.maxBuffer ?? 1000;
  if (!(Number.isInteger(maxBuffer) && maxBuffer >= 0 && maxBuffer <= 1_000_000)) p.add(where, `maxBuffer must be a whole number from 0 to 1000000, got ${maxBuffer}`);
  let publicUrl: string | undefined;
  if (m.publicUrl !== undefined) {
    const origin = originOf(m.publicUrl);
    if (!origin) p.add(where, `publicUrl must be the server's address as people reach it, like http://cams.lan:8080, got '${m.publicUrl}'`);
    publicUrl = origin;
  }
  if (p.list.length > before) return undefined;
  return {
    url: url!.href,
    ...(m.username !== undefined && { username: m.username }),
    ...(password !== undefined && { password }),
    ...(m.clientId !== undefined && { clientId: m.clientId }),
    topicPrefix,
    discovery: m.discovery ?? true,
    discoveryPrefix,
    ...(m.ca !== undefined && { ca: m.ca }),
    ...(m.cert !== undefined && { cert: m.cert }),
    ...(m.key !== undefined && { key: m.key }),
    ...(m.rejectUnauthorized !== undefined && { rejectUnauthorized: m.rejectUnauthorized }),
    maxBuffer,
    ...(publicUrl && { publicUrl }),
  };
}
