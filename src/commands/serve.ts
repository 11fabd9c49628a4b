/** `livecap serve`: the server, on the embedded demo stream or the sources given. */
import { parseFlags, intFlag, numberFlag, wantsHelp } from '../cli.js';
import { startServer } from '../stream/server.js';
import { demoSource } from '../stream/demo.js';
import { acquireCaptioner, parseCaptionerSpec, releaseCaptioner } from '../models/worker/captioner-client.js';
import type { Captioner } from '../pipeline/stream-pipeline.js';
import { SummarizerClient } from '../models/worker/summarizer-client.js';
import { EMBEDDED_CAPTIONER, EMBEDDED_SUMMARIZER } from '../paths.js';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HISTORY_DEFAULTS } from '../store/history-store.js';
import { tokensFromEnv } from '../stream/auth.js';
import { log } from '../util/log.js';
import { redactUrl } from '../ingest/source.js';

/** Where history goes unless --history says otherwise: the user's state folder. */
export const DEFAULT_HISTORY = join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'livecap', 'history.db');

const HELP = `usage: livecap serve [--source NAME=URL]… [--port 8080] [--host 127.0.0.1] [--media-dir DIR]
                    [--captioner [STREAM=]SPEC]… [--fps 10] [--analysis-size 160x120]
                    [--summarizer DIR|none] [--summary-window S] [--summary-hop S]
                    [--history FILE|:memory:] [--history-days 30] [--history-max-events 1000000]

  With no --source, serves the built-in demo stream 'demo'. URLs: rtsp://, http(s)://,
  /dev/videoN, testsrc://PATTERN, or files under --media-dir (played as live, looped).
  Open http://HOST:PORT/ for the viewer. --fps and --analysis-size set how often and how large
  frames are taken from each source for scene detection and captioning.
  --captioner SPEC sets the captioner of every stream, --captioner STREAM=SPEC one stream's.
  SPEC is a CNN→LSTM model folder (default: the embedded one; --model DIR is the same) or
  onnx:DIR, a vision-encoder-decoder ONNX export such as ViT-GPT2 (see livecap models pull).
  Streams added over the API may pick any captioner loaded here by its SPEC.
  Every --summary-hop seconds the captions of the last --summary-window seconds are summarized
  into a video caption by --summarizer (a Hugging Face ONNX export; default: the embedded one,
  with a 20 s window every 10 s; other summarizers default to a 60 s window every 15 s).
  Every caption and summary is written to --history (SQLite; default ${DEFAULT_HISTORY}) before
  viewers get it, kept --history-days days and at most --history-max-events events; streams
  carry on their sequence numbers after a restart.
  Access tokens (comma-separated) come from LIVECAP_VIEWER_TOKENS (read and watch) and
  LIVECAP_ADMIN_TOKENS (also add and remove streams); without them the server is open.`;

export const ANALYSIS = { width: 160, height: 120, fps: 10 } as const;
/** Seconds of captions per summary, and between summaries, for the embedded summarizer. */
export const EMBEDDED_SUMMARY_WINDOW = { window: 20, hop: 10 } as const;

export async function serveCommand(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, {
    source: { type: 'string', multiple: true },
    port: { type: 'string' },
    host: { type: 'string' },
    'media-dir': { type: 'string' },
    model: { type: 'string' },
    captioner: { type: 'string', multiple: true },
    fps: { type: 'string' },
    'analysis-size': { type: 'string' },
    summarizer: { type: 'string' },
    'summary-window': { type: 'string' },
    'summary-hop': { type: 'string' },
    history: { type: 'string' },
    'history-days': { type: 'string' },
    'history-max-events': { type: 'string' },
  });
  const sources = (values.source ?? []).map((s) => {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`--source must be NAME=URL, got '${redactUrl(s)}'`);
    return { id: s.slice(0, eq), url: s.slice(eq + 1) };
  });
  const size = /^(\d+)x(\d+)$/.exec(values['analysis-size'] ?? `${ANALYSIS.width}x${ANALYSIS.height}`);
  if (!size || Number(size[1]) < 16 || Number(size[2]) < 16 || Number(size[1]) > 1920 || Number(size[2]) > 1080) {
    throw new Error(`--analysis-size must be WIDTHxHEIGHT between 16x16 and 1920x1080, got '${values['analysis-size']}'`);
  }
  const fps = numberFlag('fps', values.fps, ANALYSIS.fps);
  if (!(fps > 0 && fps <= 30)) throw new Error(`--fps must be above 0 and at most 30, got '${values.fps}'`);
  const output = { width: Number(size[1]), height: Number(size[2]), fps };
  const historyDays = numberFlag('history-days', values['history-days'], HISTORY_DEFAULTS.maxAgeMs / 86_400_000);
  const historyMax = intFlag('history-max-events', values['history-max-events'], HISTORY_DEFAULTS.maxEvents);
  if (!(historyDays > 0) || !(historyMax > 0)) throw new Error(`--history-days and --history-max-events must be above 0 (got ${historyDays} and ${historyMax})`);
  const history = { path: values.history ?? DEFAULT_HISTORY, maxAgeMs: historyDays * 86_400_000, maxEvents: historyMax };
  // Tokens come from the environment, never the command line (where `ps` would show them).
  const auth = { viewerTokens: tokensFromEnv(process.env.LIVECAP_VIEWER_TOKENS), adminTokens: tokensFromEnv(process.env.LIVECAP_ADMIN_TOKENS) };
  log.info('access', auth.viewerTokens.length + auth.adminTokens.length ? { viewerTokens: auth.viewerTokens.length, adminTokens: auth.adminTokens.length } : { open: 'no tokens set' });
  const captioners = captionerSpecs(values.captioner ?? [], values.model, sources.length ? sources.map((s) => s.id) : ['demo']);
  const summarizerDir = values.summarizer ?? (existsSync(EMBEDDED_SUMMARIZER) ? EMBEDDED_SUMMARIZER : 'none');
  // The embedded summarizer learned windows of up to six scenes; pretrained ones take a minute.
  const windowDefaults = summarizerDir === EMBEDDED_SUMMARIZER ? EMBEDDED_SUMMARY_WINDOW : { window: 60, hop: 15 };
  const windowS = numberFlag('summary-window', values['summary-window'], windowDefaults.window);
  const hopS = numberFlag('summary-hop', values['summary-hop'], windowDefaults.hop);
  if (!(windowS > 0 && hopS > 0 && hopS <= windowS)) throw new Error(`--summary-hop must be above 0 and at most --summary-window (got ${hopS} s and ${windowS} s)`);
  if (summarizerDir === 'none') log.info('video captions off (no summarizer)');
  // Render the demo clip (first run only) before listening, so the port opens on a working server.
  const demo = sources.length === 0 ? await demoSource() : undefined;
  const summarizer = summarizerDir === 'none' ? undefined : await SummarizerClient.start(summarizerDir);
  const loaded = new Map<string, Captioner>();
  const releaseAll = () => Promise.all([...loaded.keys()].map((spec) => releaseCaptioner(spec)));
  try {
    for (const spec of new Set([captioners.default, ...captioners.perStream.values()])) loaded.set(spec, await acquireCaptioner(spec));
  } catch (err) {
    await releaseAll();
    await summarizer?.close();
    throw err;
  }
  const name = (spec: string) => (spec === EMBEDDED_CAPTIONER ? 'embedded' : spec);
  const summary = summarizer && { summarizer, windowMs: windowS * 1000, hopMs: hopS * 1000 };
  const server = await startServer({
    host: values.host ?? '127.0.0.1',
    port: intFlag('port', values.port, 8080),
    mediaDir: values['media-dir'],
    captioner: loaded.get(captioners.default)!,
    captionerName: name(captioners.default),
    history,
    auth,
    captioners: new Map([...loaded].filter(([spec]) => spec !== captioners.default).map(([spec, c]) => [name(spec), c])),
    pipeline: { output, summary },
  });
  const chosen = (id: string) => {
    const spec = captioners.perStream.get(id);
    return spec === undefined ? undefined : name(spec);
  };
  try {
    if (demo) server.addSource('demo', demo, 'demo (synthetic clip, looped)', chosen('demo'));
    for (const { id, url } of sources) server.streams.add(id, url, chosen(id));
  } catch (err) {
    await server.close();
    await releaseAll();
    await summarizer?.close();
    throw err;
  }
  console.log(`livecap serving ${server.streams.list().map((s) => s.id).join(', ')} at ${server.url}/`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  await releaseAll();
  await summarizer?.close();
  return 0;
}

/** The default captioner spec and each stream's own, from `--captioner [STREAM=]SPEC` flags. */
export function captionerSpecs(flags: readonly string[], model: string | undefined, streams: readonly string[]): { default: string; perStream: Map<string, string> } {
  const perStream = new Map<string, string>();
  const defaults: string[] = model === undefined ? [] : [model];
  for (const flag of flags) {
    const m = /^([A-Za-z0-9][A-Za-z0-9_-]{0,63})=(.+)$/.exec(flag);
    if (!m) {
      defaults.push(flag);
      continue;
    }
    const [, stream, spec] = m as unknown as [string, string, string];
    if (!streams.includes(stream)) throw new Error(`--captioner ${stream}=…: there is no stream '${stream}' (streams: ${streams.join(', ')})`);
    if (perStream.has(stream)) throw new Error(`--captioner: stream '${stream}' is given two captioners`);
    perStream.set(stream, spec);
  }
  if (defaults.length > 1) throw new Error(`--captioner/--model: more than one default captioner given (${defaults.join(', ')}); name a stream with STREAM=SPEC`);
  for (const spec of [...defaults, ...perStream.values()]) parseCaptionerSpec(spec);
  return { default: defaults[0] ?? EMBEDDED_CAPTIONER, perStream };
}
