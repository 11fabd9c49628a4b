/**
 * The config file of `livecap serve` (`--config FILE`, JSON), as one schema: which settings
 * exist, and the form of each. What the values mean together (ranges, a stream's captioner
 * and prompt, flags over the file) is resolveServeSettings' to check (serve-settings.ts), with
 * every problem, from here or there, listed in one error.
 */
import { z } from 'zod';
import { STREAM_ID } from '../core/stream-id.js';
import { TASK_TOKEN } from '../models/captioner/spec.js';
import { problemsOf, shown } from '../util/problems.js';
import { RuleRequest } from '../stream/api-schemas.js';

const string = () => z.string({ error: (iss) => `must be a string, got ${shown(iss.input)}` });
const number = () => z.number({ error: (iss) => `must be a number, got ${shown(iss.input)}` });
/** A list of strings, named as a whole when any entry is wrong. */
const list = (message: string, entry: (s: string) => boolean = () => true) =>
  z
    .unknown()
    .refine((v) => Array.isArray(v) && v.every((s) => typeof s === 'string' && entry(s)), { error: message })
    .transform((v) => v as string[]);
const strings = () => list('must be a list of strings');
const tokens = () => list('must be a list of non-empty strings', (s) => s.length > 0);
/** An object with only these settings: a typo is named with the ones there are. */
const settings = <T extends z.ZodRawShape>(shape: T) =>
  z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `unknown setting (known: ${Object.keys(shape).join(', ')})` : iss.code === 'invalid_type' ? 'must be an object' : undefined),
  });
/** Stream id → value. */
const perStream = <T extends z.ZodType>(value: T) =>
  z.record(z.string().regex(STREAM_ID, { error: 'stream names are 1-64 letters, digits, - or _' }), value, { error: (iss) => `must be an object, got ${shown(iss.input)}` });

/** {"kind": "onnx", "path": DIR, "task": "<DETAILED_CAPTION>"}: an ONNX export, with a task for Florence-2. */
export const OnnxCaptionerObject = z.strictObject(
  {
    kind: z.literal('onnx'),
    path: z.string({ error: "path must name the export's folder" }).min(1, { error: "path must name the export's folder" }),
    task: z
      .string({ error: (iss) => `task must be a task token such as <CAPTION>, <DETAILED_CAPTION> or <MORE_DETAILED_CAPTION>, got ${shown(iss.input)}` })
      .regex(TASK_TOKEN, { error: (iss) => `task must be a task token such as <CAPTION>, <DETAILED_CAPTION> or <MORE_DETAILED_CAPTION>, got ${shown(iss.input)}` })
      .optional(),
  },
  { error: (iss) => (iss.code === 'unrecognized_keys' ? `unknown field ${iss.keys.join(', ')} (known: kind, path, task)` : undefined) },
);

export const ConfigFile = settings({
  host: string(),
  port: number(),
  mediaDir: string(),
  sources: perStream(string()),
  /** A captioner spec string or object: checked by serve-settings (it may need the environment). */
  captioner: z.unknown(),
  captioners: perStream(z.unknown()),
  prompts: perStream(string()),
  summarizer: string(),
  summaryWindow: number(),
  summaryHop: number(),
  fps: number(),
  analysisSize: string(),
  history: settings({ path: string(), days: number(), maxEvents: number(), maxMb: number() }).partial(),
  auth: settings({ viewerTokens: tokens(), adminTokens: tokens() }).partial(),
  maxStreams: number(),
  corsOrigins: strings(),
  allowedHosts: strings(),
  modelTimeout: number(),
  dtype: string(),
  cluster: settings({ url: string(), role: string(), nodeId: string(), capacity: number(), leaseSeconds: number() }).partial(),
  webhooks: z.array(
    settings({ id: string(), url: string(), secret: string(), secretEnv: string(), events: strings(), streams: strings(), headers: z.record(z.string(), string()), timeout: number() }).partial(),
    { error: (iss) => `must be a list of webhooks like [{"url": "https://…", "secretEnv": "NAME"}], got ${shown(iss.input)}` },
  ),
  mqtt: settings({
    url: string(),
    username: string(),
    password: string(),
    passwordEnv: string(),
    clientId: string(),
    topicPrefix: string(),
    discovery: z.boolean({ error: (iss) => `must be true or false, got ${shown(iss.input)}` }),
    discoveryPrefix: string(),
    ca: string(),
    cert: string(),
    key: string(),
    rejectUnauthorized: z.boolean({ error: (iss) => `must be true or false, got ${shown(iss.input)}` }),
    maxBuffer: number(),
    publicUrl: string(),
  }).partial(),
  liveVideo: settings({ idleSeconds: number(), segmentSeconds: number(), maxHeight: number(), bitrateKbps: number(), captionHoldSeconds: number(), maxStreams: number() }).partial(),
  rules: z.array(RuleRequest, { error: (iss) => `must be a list of rules like [{"id": "red-car", "match": "red car"}], got ${shown(iss.input)}` }),
}).partial();
export type ConfigFile = z.infer<typeof ConfigFile>;

/**
 * The file read against the schema: its settings, and its problems each named with the file
 * (`c.json port: must be a number, got "eighty"`). A value with a problem is left out (only it:
 * an unknown key beside `history.days` leaves the days to be checked), so that the rest can
 * still be checked.
 */
export function readConfigFile(file: unknown, fileName: string): { config: ConfigFile; problems: string[] } {
  if (typeof file !== 'object' || file === null || Array.isArray(file)) return { config: {}, problems: [`${fileName}: must hold a JSON object`] };
  const result = ConfigFile.safeParse(file);
  if (result.success) return { config: result.data, problems: [] };
  const rest = structuredClone(file) as Record<string, unknown>;
  for (const issue of result.error.issues) {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
    for (const path of keys) leaveOut(rest, path.map(String));
  }
  // A list loses only its bad entries (a rule with a problem), so the others are still checked.
  for (const [key, value] of Object.entries(rest)) if (Array.isArray(value)) rest[key] = value.filter((entry) => entry !== undefined);
  return { config: ConfigFile.parse(rest), problems: problemsOf(result.error, fileName) };
}

function leaveOut(object: Record<string, unknown>, path: string[]): void {
  const [key, ...deeper] = path;
  if (key === undefined) return;
  const value = object[key];
  if (deeper.length && Array.isArray(value) && /^\d+$/.test(deeper[0]!)) value[Number(deeper[0])] = undefined;
  else if (deeper.length && typeof value === 'object' && value !== null && !Array.isArray(value)) leaveOut(value as Record<string, unknown>, deeper);
  else delete object[key];
}
