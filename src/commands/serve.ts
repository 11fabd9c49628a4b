/** `livecap serve`: the server, on the embedded demo stream or the sources given. */
import { existsSync } from 'node:fs';
import { parseFlags, wantsHelp } from '../util/flags.js';
import { startServer, type RunningServer } from '../stream/server.js';
import { StreamConflictError } from '../stream/streams.js';
import { demoSource } from './demo-source.js';
import { acquireCaptioner, releaseCaptioner } from '../models/worker/captioner-client.js';
import { SummarizerClient } from '../models/worker/summarizer-client.js';
import { EMBEDDED_CAPTIONER, EMBEDDED_SUMMARIZER } from '../paths.js';
import { DEFAULT_HISTORY, resolveServeSettings, type CaptionerSetting } from '../config/serve-settings.js';
import { OpenAiCaptioner } from '../models/openai/chat-captioner.js';
import { openAiCaptionerName } from '../models/openai/spec.js';
import { Thumbnailer } from '../media/thumbnails.js';
import { readJsonFile } from '../util/json-file.js';
import { log } from '../util/log.js';
import { captionerSpecWithDtype } from '../models/captioner/spec.js';
import { withDtype } from '../models/seq2seq/dtype.js';
import type { Captioner } from '../core/caption.js';

const HELP = `usage: livecap serve [--config FILE] [--source NAME=URL]… [--port 8080] [--host 127.0.0.1] [--media-dir DIR]
                    [--captioner [STREAM=]SPEC]… [--prompt STREAM=TEXT]… [--fps 10] [--analysis-size 160x120]
                    [--summarizer DIR|none] [--summary-window S] [--summary-hop S]
                    [--history FILE|:memory:] [--history-days 30] [--history-max-events 1000000]
                    [--history-max-mb 0] [--max-streams 64] [--cors-origin ORIGIN]… [--allowed-host NAME]…
                    [--model-timeout 30] [--dtype auto|fp32|fp16|q8|int8|uint8|q4|q4f16|bnb4]
                    [--cluster redis://HOST:PORT[/DB] [--role all|worker|web] [--node-id NAME]]

  With no --source, serves the built-in demo stream 'demo'. URLs: rtsp://, http(s)://,
  /dev/videoN, testsrc://PATTERN, or files under --media-dir (played as live, looped).
  Open http://HOST:PORT/ for the viewer. --fps and --analysis-size set how often and how large
  frames are taken from each source for scene detection and captioning.
  --captioner SPEC sets the captioner of every stream, --captioner STREAM=SPEC one stream's.
  SPEC is a CNN→LSTM model folder (default: the embedded one, which knows only the synthetic
  shapes it was trained on: on a real camera its captions are marked out of domain and the
  stream's status says how to bring a real model; --model DIR is the same),
  onnx:DIR, a vision-encoder-decoder ONNX export such as ViT-GPT2 (see livecap models pull),
  onnx:DIR<TASK>, a Florence-2 export asked a task (<CAPTION>, <DETAILED_CAPTION>,
  <MORE_DETAILED_CAPTION>; quote it for the shell), or openai:MODEL@BASEURL, a vision-language
  model behind an OpenAI-compatible chat-completions API (Ollama, vLLM, llama.cpp's server…),
  e.g. openai:llava:7b@http://127.0.0.1:11434/v1;
  set its prompt, API key (apiKeyEnv), timeout and maxConcurrent in the config file (README).
  Streams added over the API may pick any captioner loaded here by its SPEC.
  --prompt STREAM=TEXT gives a stream its own prompt, for captioners that take one: a Florence-2
  task or prompt, a model server's prompt (also "prompts" in the config file, and "prompt" when a
  stream is added over the API).
  --dtype picks which ONNX files of every onnx: captioner and --summarizer export run: fp16,
  q8 (*_quantized.onnx), int8, uint8, q4…; the default, auto, runs the fp32 files where the
  folder has them. A spec may name its own: onnx:DIR?dtype=q8, --summarizer DIR?dtype=q8.
  Every --summary-hop seconds the captions of the last --summary-window seconds are summarized
  into a video caption by --summarizer (a Hugging Face ONNX export; default: the embedded one,
  with a 20 s window every 10 s; other summarizers default to a 60 s window every 15 s).
  Every caption and summary is written to --history (SQLite; default ${DEFAULT_HISTORY}) before
  viewers get it, kept --history-days days and at most --history-max-events events, in a file of
  at most --history-max-mb MiB (0: no cap); streams carry on their sequence numbers after a
  restart, and streams added over the API come back. When history cannot be written (a full
  disk, or the cap), streams are reported degraded in /readyz, /api/streams and /metrics.
  A caption or summary that takes longer than --model-timeout seconds has its model's worker
  replaced by a fresh one (the stream's status says so); the streams carry on.
  Access tokens (comma-separated) come from LIVECAP_VIEWER_TOKENS (read and watch) and
  LIVECAP_ADMIN_TOKENS (also add and remove streams); without them the server is open.
  At most --max-streams streams run at once (default 64); creating another answers 503.
  Pages on other websites may not add or remove streams or open /ws; --cors-origin ORIGIN
  (e.g. https://dash.example.com) lets a dashboard there read history, subtitles, search and
  events, and open /ws. Bound to a loopback address, the server answers only for localhost,
  127.0.0.1 and [::1]; --allowed-host NAME adds a name (a reverse proxy's), and once names are
  given the Host is checked on any listen address.
  --cluster redis://HOST:PORT[/DB] makes this process one node of a cluster on Redis: streams
  are kept in Redis and added or removed through any node; each runs on one worker (role worker
  or all, the default) under a lease it renews, and moves to another worker when its own stops;
  every node serves the API, the viewer, WebSocket, SSE and subtitles (role web runs no stream
  and loads no model).
  --history then names this node's own copy of the events (for search; :memory: keeps it in
  memory). The built-in demo does not run in a cluster. --node-id names the node (default: host
  name and 4 hex digits). See README, "Several processes".
  --config FILE: the same settings as JSON (see README); flags override it, and every wrong
  setting is listed at once.`;

/** How a captioner is named in stream info and the API: 'embedded', its spec, or openai:MODEL@BASEURL. */
function captionerName(setting: CaptionerSetting): string {
  if (typeof setting !== 'string') return openAiCaptionerName(setting);
  return setting === EMBEDDED_CAPTIONER ? 'embedded' : setting;
}

export async function serveCommand(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, {
    config: { type: 'string' },
    source: { type: 'string', multiple: true },
    port: { type: 'string' },
    host: { type: 'string' },
    'media-dir': { type: 'string' },
    model: { type: 'string' },
    captioner: { type: 'string', multiple: true },
    prompt: { type: 'string', multiple: true },
    fps: { type: 'string' },
    'analysis-size': { type: 'string' },
    summarizer: { type: 'string' },
    'summary-window': { type: 'string' },
    'summary-hop': { type: 'string' },
    history: { type: 'string' },
    'history-days': { type: 'string' },
    'history-max-events': { type: 'string' },
    'max-streams': { type: 'string' },
    'cors-origin': { type: 'string', multiple: true },
    'allowed-host': { type: 'string', multiple: true },
    'history-max-mb': { type: 'string' },
    'model-timeout': { type: 'string' },
    dtype: { type: 'string' },
    cluster: { type: 'string' },
    role: { type: 'string' },
    'node-id': { type: 'string' },
  });
  const file = values.config === undefined ? {} : await readJsonFile(values.config, 'config file');
  const settings = resolveServeSettings(values, file, values.config);
  const { auth } = settings;
  // SIGHUP (the terminal went away, or a supervisor's stop) shuts down like SIGTERM. Listened
  // for from the start: a signal while models load, or as soon as the address is printed, ends
  // the start cleanly (workers released, history closed) instead of the default abrupt exit.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info('shutting down', { signal });
      resolve();
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, stop);
  });
  log.info('access', auth.viewerTokens.length + auth.adminTokens.length ? { viewerTokens: auth.viewerTokens.length, adminTokens: auth.adminTokens.length } : { open: 'no tokens set' });
  let summarizerDir = settings.summarizer;
  if (summarizerDir === EMBEDDED_SUMMARIZER && !existsSync(EMBEDDED_SUMMARIZER)) summarizerDir = 'none';
  if (summarizerDir === 'none') log.info('video captions off (no summarizer)');
  // Render the demo clip (first run only) before listening, so the port opens on a working server.
  const demo = settings.sources.length === 0 && !settings.cluster ? await demoSource() : undefined;
  const deadlines = { timeoutMs: settings.modelTimeoutS * 1000 };
  // --dtype applies to the ONNX exports a user brings; the embedded models have only fp32 files.
  const summarizerSpec = summarizerDir === EMBEDDED_SUMMARIZER ? summarizerDir : withDtype(summarizerDir, settings.dtype);
  // A cluster's web node runs no stream: it loads no model.
  const runsStreams = settings.cluster?.role !== 'web';
  const summarizer = summarizerDir === 'none' || !runsStreams ? undefined : await SummarizerClient.start(summarizerSpec, {}, deadlines);
  // Captioners by name: model folders share a worker per spec; model servers get a client each.
  const loaded = new Map<string, Captioner>();
  const release: (() => Promise<void>)[] = [];
  // Keyframes are encoded to JPEG in a worker thread, not on the event loop: one encode serves
  // both the caption's thumbnail and a model server's request.
  const encoder = new Thumbnailer();
  let server: RunningServer | undefined;
  // Whatever happens from here on, every worker is released and the store closed: a failed
  // start must end the process (workers would keep it alive), and so must a signal.
  try {
    for (const setting of runsStreams ? [settings.captioner, ...settings.captioners.values()] : []) {
      const name = captionerName(setting);
      if (loaded.has(name)) continue;
      if (typeof setting === 'string') {
        // Streams name the captioner as the user wrote it; the variant is chosen when it loads.
        const spec = captionerSpecWithDtype(setting, settings.dtype);
        loaded.set(name, await acquireCaptioner(spec, deadlines));
        release.push(() => releaseCaptioner(spec));
      } else {
        const apiKey = setting.apiKeyEnv === undefined ? undefined : process.env[setting.apiKeyEnv];
        const client = new OpenAiCaptioner(setting, { apiKey, timeoutMs: deadlines.timeoutMs, encode: (frame) => encoder.dataUrl(frame) });
        loaded.set(name, client);
        release.push(() => client.close());
        log.info('captioner: model server', { captioner: name, keyFrom: setting.apiKeyEnv });
      }
    }
    const summary = summarizer && { summarizer, windowMs: settings.summaryWindowS * 1000, hopMs: settings.summaryHopS * 1000 };
    server = await startServer({
      thumbnails: encoder,
      host: settings.host,
      port: settings.port,
      mediaDir: settings.mediaDir,
      captioner: loaded.get(captionerName(settings.captioner)),
      captionerName: captionerName(settings.captioner),
      captioners: new Map([...loaded].filter(([name]) => name !== captionerName(settings.captioner))),
      history: { path: settings.history.path, maxAgeMs: settings.history.days * 86_400_000, maxEvents: settings.history.maxEvents, maxBytes: settings.history.maxMb * 1024 * 1024 },
      auth,
      maxStreams: settings.maxStreams,
      corsOrigins: settings.corsOrigins,
      allowedHosts: settings.allowedHosts,
      pipeline: { output: { ...settings.analysis, fps: settings.fps }, summary },
      rules: settings.rules,
      webhooks: settings.webhooks,
      ...(settings.mqtt && { mqtt: settings.mqtt }),
      liveVideo: settings.liveVideo,
      ...(settings.cluster && { cluster: settings.cluster }),
    });
    const chosen = (id: string) => {
      const setting = settings.captioners.get(id);
      return setting === undefined ? undefined : captionerName(setting);
    };
    if (server.manager) {
      if (demo) server.addSource('demo', demo, 'demo (synthetic clip, looped)', chosen('demo'), settings.prompts.get('demo'));
      for (const { id, url } of settings.sources) server.manager.add(id, url, chosen(id), settings.prompts.get(id));
      server.restoreStreams();
    } else {
      // In a cluster, configured streams are registered once for the whole cluster: a node
      // started later with the same configuration finds them there.
      for (const { id, url } of settings.sources) {
        try {
          await server.streams.create({ id, url, captioner: chosen(id), prompt: settings.prompts.get(id) });
        } catch (err) {
          if (!(err instanceof StreamConflictError)) throw err;
        }
      }
    }
    console.log(
      `livecap serving ${server.streams
        .list()
        .map((s) => s.id)
        .join(', ')} at ${server.url}/`,
    );
    await stopped;
  } finally {
    await server?.close();
    await Promise.all(release.map((done) => done()));
    await encoder.close();
    await summarizer?.close();
  }
  return 0;
}
