/**
 * Cluster benchmark: livecap as several processes on one redis-server (started here, on a
 * loopback port), each part against its baseline in the same run.
 *
 * - throughput: captions per second of one worker process running every stream, then of two
 *   worker processes sharing them, under a load that saturates one (many streams of clips
 *   cutting every few tenths of a second).
 * - fanout: caption deliveries per second to viewers (in processes of their own) at a fixed
 *   rate of events: the single-process server (its hub broadcasting), one web node and two web
 *   nodes reading the events from Redis.
 * - latency: what a viewer sees, caption made → caption received, single process vs one worker
 *   and one web node, on the same clip with real pipelines.
 * - failover: a worker killed with SIGKILL twenty times in a row (defaults: 5 s lease): from the
 *   kill to the stream listed on another worker, and to the viewers' next caption.
 * - memory: Redis memory per million events, captions alone and with their keyframe JPEGs,
 *   appended as a worker appends them.
 *
 *   livecap bench cluster [--parts throughput,fanout,latency,failover,memory] [--seconds 40] [--streams 12]
 *                         [--viewers 1000] [--rate 50] [--kills 20]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createClient } from '@redis/client';
import { numberFlag, parseFlags, wantsHelp } from '../src/util/flags.js';
import { UsageError } from '../src/util/usage-error.js';
import { videoScript, writeVideo } from '../src/synth/video.js';
import { clusterKeys } from '../src/cluster/keys.js';
import { EventLog } from '../src/cluster/event-log.js';
import { Leases } from '../src/cluster/leases.js';
import { liveNodes } from '../src/cluster/worker.js';
import { StreamRegistry } from '../src/cluster/registry.js';
import { encodeJpeg } from '../src/media/image.js';
import { renderScene } from '../src/synth/render.js';
import { randomScene } from '../src/synth/world.js';
import { Rng } from '../src/util/rng.js';
import { startServer } from '../src/stream/server.js';
import { acquireCaptioner, releaseCaptioner } from '../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../src/paths.js';
import type { CaptionMessage } from '../src/core/events.js';
import { RedisServer } from '../test/helpers/redis-server.js';
import { livecap, reap, type LivecapProcess } from '../test/helpers/livecap-process.js';
import { waitFor } from '../test/helpers/processes.js';
import { makeTinyFlorence2 } from '../test/helpers/tiny-florence2.js';
import { killWorkersInTurn } from '../test/helpers/worker-kills.js';
import { machineLine, percentile } from './machine.js';

const HELP = `usage: livecap bench cluster [--parts throughput,fanout,latency,failover,memory] [--seconds 40] [--streams 12]
                             [--viewers 1000] [--rate 50] [--kills 20]

  livecap as several processes on one redis-server (started on a loopback port): captions per
  second with one worker process vs two, deliveries per second through one and two web nodes vs
  the single-process server, the latency a viewer sees single vs cluster, and failover time over
  --kills worker kills.`;

const PARTS = ['throughput', 'fanout', 'latency', 'failover', 'memory'] as const;
type Part = (typeof PARTS)[number];

interface Context {
  redis: RedisServer;
  media: string;
  seconds: number;
  streams: number;
  viewers: number;
  rate: number;
  kills: number;
  lines: string[];
}

export async function run(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, {
    parts: { type: 'string' },
    seconds: { type: 'string' },
    streams: { type: 'string' },
    viewers: { type: 'string' },
    rate: { type: 'string' },
    kills: { type: 'string' },
  });
  const parts = (values.parts ?? PARTS.join(',')).split(',') as Part[];
  for (const p of parts) if (!PARTS.includes(p)) throw new UsageError(`--parts: unknown part '${p}' (known: ${PARTS.join(', ')})`);
  const redis = await RedisServer.start();
  const media = await mkdtemp(join(tmpdir(), 'livecap-bench-cluster-'));
  const context: Context = {
    redis,
    media,
    seconds: numberFlag('seconds', values.seconds, 40),
    streams: numberFlag('streams', values.streams, 12),
    viewers: numberFlag('viewers', values.viewers, 1000),
    rate: numberFlag('rate', values.rate, 50),
    kills: numberFlag('kills', values.kills, 20),
    lines: [],
  };
  try {
    // A clip cutting every 0.2-0.5 s (the throughput load) and one cutting every 0.6-1.2 s.
    await writeVideo(videoScript(101, { duration: 20, minScene: 0.2, maxScene: 0.5, width: 160, height: 120, fps: 10 }), join(media, 'busy.mp4'));
    await writeVideo(videoScript(102, { duration: 20, minScene: 0.6, maxScene: 1.2, width: 160, height: 120, fps: 10 }), join(media, 'calm.mp4'));
    for (const part of parts) {
      console.error(`\n== ${part}`);
      await { throughput, fanout, latency, failover, memory }[part](context);
      await redis.flush();
    }
  } finally {
    await redis.close();
    await rm(media, { recursive: true, force: true });
  }
  const version = /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  console.log(`\n${machineLine(`redis-server ${version}`)}\n`);
  for (const line of context.lines) console.log(line);
  return 0;
}

/** A node as a process of its own; every node of a part is ended by `stopAll`. */
function starter(c: Context, env: Record<string, string> = {}) {
  const processes: LivecapProcess[] = [];
  const start = (role: 'worker' | 'web', id: string, extra: string[] = []) => {
    const p = livecap(['serve', '--cluster', c.redis.url, '--role', role, '--node-id', id, '--port', '0', '--history', ':memory:', '--media-dir', c.media, '--summarizer', 'none', ...extra], {
      env: { ...process.env, ...env },
    });
    processes.push(p);
    return p;
  };
  const stopAll = async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGTERM');
    const ended = await Promise.race([Promise.all(processes.map((p) => p.exited)), new Promise((r) => setTimeout(r, 15_000))]);
    if (!ended) for (const p of processes) reap(p);
    await Promise.all(processes.splice(0).map((p) => p.exited));
  };
  return { start, stopAll, processes };
}

async function redisClient(c: Context) {
  const client = createClient({ url: c.redis.url });
  await client.connect();
  return client;
}

/**
 * Captions per second, one worker process vs two, with `streams` busy streams and a captioner of
 * Florence-2's architecture (made up here: d_model 384, 4+4 layers, 1,024 image tokens, about 0.8 s a caption on one thread of this machine, as Florence-2-base takes on a core): the
 * captioner, not ffmpeg, is what saturates a worker. Each worker's model computes on one thread
 * (LIVECAP_ONNX_THREADS=1, a core each); one process on onnxruntime's default threads is shown too.
 */
async function throughput(c: Context): Promise<void> {
  const model = join(c.media, 'florence2-wide');
  await makeTinyFlorence2({
    dir: model,
    size: { dModel: 384, layers: 4, heads: 6, ffn: 1536, imageSize: 384, patch: 12 },
    generation: { num_beams: 1, min_length: 21, max_length: 21, no_repeat_ngram_size: 0 },
  });
  const ids = Array.from({ length: c.streams }, (_, k) => `busy${k + 1}`);
  const captioner = ['--captioner', `onnx:${model}<CAPTION>`];
  const client = await redisClient(c);
  const events = new EventLog(client, clusterKeys());
  const seqs = async () => (await Promise.all(ids.map((id) => events.lastSeq(id)))).reduce((a, b) => a + b, 0);
  const measure = async (label: string, workers: string[], threads?: number) => {
    const { start, stopAll } = starter(c, threads === undefined ? {} : { LIVECAP_ONNX_THREADS: String(threads) });
    try {
      const nodes = workers.map((id) => start('worker', id, captioner));
      const urls = await Promise.all(nodes.map((n) => n.url()));
      // Added once every worker is up, so that each takes its share at once.
      await waitFor('every worker beating', async () => (await liveNodes(client, clusterKeys())).length === workers.length);
      for (const id of ids) {
        for (;;) {
          const added = await fetch(`${urls[0]}/api/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, url: 'busy.mp4' }) });
          if (added.ok) break;
          // Streams created from one address are rate-limited: wait as told.
          if (added.status !== 429) throw new Error(`cannot add ${id}: ${added.status} ${await added.text()}`);
          await new Promise((r) => setTimeout(r, 1000 * Number(added.headers.get('retry-after') ?? 2)));
        }
      }
      await waitFor(
        'every stream held, spread evenly',
        async () => {
          const counts = (await liveNodes(client, clusterKeys())).map((n) => n.streams.length);
          return counts.reduce((a, b) => a + b, 0) === ids.length && Math.max(...counts) - Math.min(...counts) <= 1;
        },
        120_000,
      );
      await new Promise((r) => setTimeout(r, 15_000));
      const first = await seqs();
      const started = performance.now();
      await new Promise((r) => setTimeout(r, c.seconds * 1000));
      const perSecond = ((await seqs()) - first) / ((performance.now() - started) / 1000);
      console.error(`${label}: ${perSecond.toFixed(2)} captions/s`);
      return perSecond;
    } finally {
      await stopAll();
      await client.sendCommand(['FLUSHDB']);
    }
  };
  // The baseline: the raw model captioning frames (`livecap caption`), one process, then two at once.
  const frames = join(c.media, 'frames');
  await mkdir(frames);
  execFileSync('ffmpeg', ['-loglevel', 'error', '-i', join(c.media, 'busy.mp4'), '-vf', 'fps=2', join(frames, 'f%03d.png')]);
  const pictures = (await readdir(frames)).map((f) => join(frames, f));
  const rawRate = async (processes: number) => {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: processes }, async () => {
        const p = livecap(['caption', '--model', model, '--task', '<CAPTION>', ...pictures], { env: { ...process.env, LIVECAP_ONNX_THREADS: '1' } });
        const { code } = await p.exited;
        if (code !== 0) throw new Error(`livecap caption failed: ${p.stderr().slice(-500)}`);
      }),
    );
    return (processes * pictures.length) / ((performance.now() - started) / 1000);
  };
  const rawOne = await rawRate(1);
  const rawTwo = await rawRate(2);
  console.error(`raw model: ${rawOne.toFixed(2)} captions/s in one process, ${rawTwo.toFixed(2)} in two at once`);
  try {
    const one = await measure('one worker process, one model thread', ['solo'], 1);
    const two = await measure('two worker processes, one model thread each', ['pair1', 'pair2'], 1);
    const wide = await measure("one worker process, onnxruntime's default threads", ['wide']);
    c.lines.push(
      `### Throughput: ${c.streams} streams cutting every 0.2-0.5 s, a captioner of Florence-2's architecture (d_model 384, 4+4 layers, 1,024 image tokens), ${c.seconds} s after 15 s warm-up`,
      '',
      '| workers | captions/s | vs one |',
      '|---|---|---|',
      `| one process, one model thread | ${one.toFixed(2)} | ×1.00 |`,
      `| two processes, one model thread each | ${two.toFixed(2)} | ×${(two / one).toFixed(2)} |`,
      `| one process, onnxruntime's default threads (one per core) | ${wide.toFixed(2)} | ×${(wide / one).toFixed(2)} |`,
      `| baseline: the raw model (livecap caption on ${pictures.length} frames, model load included), one process | ${rawOne.toFixed(2)} | |`,
      `| baseline: the raw model, two processes at once | ${rawTwo.toFixed(2)} | ×${(rawTwo / rawOne).toFixed(2)} of one raw |`,
      '',
    );
  } finally {
    client.destroy();
  }
}

type SwarmReport = { delivered: number; p50: number; p95: number; p99: number };

/** Starts the viewers of one stream in a process of their own; resolves with their report once `seconds` are over. */
async function viewerSwarm(url: string, stream: string, viewers: number, seconds: number): Promise<{ ready: Promise<void>; report: Promise<SwarmReport> }> {
  const swarm = spawn(process.execPath, [fileURLToPath(new URL('./viewer-swarm.js', import.meta.url)), url, stream, String(viewers), '0', String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: swarm.stdout! })[Symbol.asyncIterator]();
  const ready = lines.next().then(() => undefined);
  const report = ready.then(async () => JSON.parse(String((await lines.next()).value)));
  return { ready, report };
}

interface FanoutResult {
  label: string;
  delivered: number;
  perSecond: number;
  p50: number;
  p95: number;
}

/** Deliveries per second at `rate` events/s to `viewers` viewers: single process, one web node, two web nodes. */
async function fanout(c: Context): Promise<void> {
  const text = 'a large red circle on the grass in the middle of the picture, and a small blue square';
  const results: FanoutResult[] = [];
  const drive = async (label: string, urls: string[], send: (m: CaptionMessage) => Promise<void>) => {
    const per = Math.ceil(c.viewers / urls.length);
    const swarms = await Promise.all(urls.map((u) => viewerSwarm(u, 'fan', per, c.seconds)));
    await Promise.all(swarms.map((s) => s.ready));
    let seq = 0;
    const sending = setInterval(() => {
      const now = Date.now();
      void send({ type: 'caption', stream: 'fan', seq: ++seq, ts: now, frameTs: now - 40, text, latencyMs: 40 });
    }, 1000 / c.rate);
    const reports = await Promise.all(swarms.map((s) => s.report));
    clearInterval(sending);
    const delivered = reports.reduce((a, r) => a + r.delivered, 0);
    const r: FanoutResult = { label, delivered, perSecond: delivered / c.seconds, p50: Math.max(...reports.map((x) => x.p50)), p95: Math.max(...reports.map((x) => x.p95)) };
    console.error(`${label}: ${r.perSecond.toFixed(0)} deliveries/s, p50 ${r.p50} ms, p95 ${r.p95} ms`);
    results.push(r);
  };

  // The single-process server: its hub broadcasts each event, as its pipelines' events are.
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    history: { path: ':memory:' },
    captioner: await acquireCaptioner(EMBEDDED_CAPTIONER),
    pipeline: { output: { width: 160, height: 120, fps: 1 } },
  });
  try {
    server.addSource('fan', { kind: 'file', input: '/nonexistent/fan.mp4', loop: false }, 'fan');
    await drive('single process', [server.url], async (m) => server.hub.broadcast(m));
  } finally {
    await server.close();
    await releaseCaptioner(EMBEDDED_CAPTIONER);
  }

  // Web nodes reading the events from Redis; this process appends them as a worker would, under a lease.
  const client = await redisClient(c);
  const keys = clusterKeys();
  const events = new EventLog(client, keys);
  for (const webs of [1, 2]) {
    const { start, stopAll } = starter(c);
    try {
      const nodes = Array.from({ length: webs }, (_, k) => start('web', `fanweb${k + 1}`));
      const urls = await Promise.all(nodes.map((n) => n.url()));
      const added = await fetch(`${urls[0]}/api/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'fan', url: 'testsrc://smptebars' }) });
      if (!added.ok) throw new Error(`cannot add the stream: ${added.status} ${await added.text()}`);
      for (const u of urls) await waitFor('the stream listed', async () => ((await (await fetch(`${u}/api/streams`)).json()) as { streams: { id: string }[] }).streams.length > 0);
      const lease = await new Leases(client, keys, 3_600_000).acquire('fan', 'bench');
      if (!lease) throw new Error('cannot take the lease of the fan-out stream');
      let last = Promise.resolve();
      await drive(`cluster, ${webs} web node${webs > 1 ? 's' : ''}`, urls, (m) => {
        // One append after the other, as a worker appends a stream's events.
        last = last.then(() => events.append(lease, { seq: m.seq, type: m.type, ts: m.ts, json: JSON.stringify(m) }, 100_000).then(() => undefined));
        return last;
      });
      await last;
    } finally {
      await stopAll();
      await client.sendCommand(['FLUSHDB']);
    }
  }
  client.destroy();
  const single = results[0]!;
  c.lines.push(
    `### Fan-out: ${c.rate} captions/s of ${text.length + 120} bytes to ${c.viewers} viewers (in one process per web node) for ${c.seconds} s`,
    '',
    '| server | deliveries/s | vs single | p50 ms | p95 ms |',
    '|---|---|---|---|---|',
    ...results.map((r) => `| ${r.label} | ${r.perSecond.toFixed(0)} | ×${(r.perSecond / single.perSecond).toFixed(2)} | ${r.p50} | ${r.p95} |`),
    '',
  );
}

/** Caption made → received, single process vs a worker and a web node, real pipelines on the same clip. */
async function latency(c: Context): Promise<void> {
  const viewers = 50;
  const streams = 2;
  const sources = Array.from({ length: streams }, (_, k) => ['--source', `calm${k + 1}=calm.mp4`]).flat();
  const observe = async (url: string) => {
    const swarm = await viewerSwarm(url, 'calm1', viewers, c.seconds);
    await swarm.ready;
    return swarm.report;
  };
  const rows: string[] = [];
  const add = (label: string, r: SwarmReport) => {
    console.error(`${label}: p50 ${r.p50} ms, p95 ${r.p95} ms over ${r.delivered}`);
    rows.push(`| ${label} | ${r.delivered} | ${r.p50} | ${r.p95} | ${r.p99} |`);
    return r;
  };
  const single = livecap(['serve', '--port', '0', '--history', ':memory:', '--media-dir', c.media, '--summarizer', 'none', ...sources]);
  let alone: SwarmReport;
  try {
    const url = await single.url();
    await new Promise((r) => setTimeout(r, 5_000));
    alone = add('single process', await observe(url));
  } finally {
    single.child.kill('SIGTERM');
    await single.exited;
  }
  const { start, stopAll } = starter(c);
  let cluster: SwarmReport;
  try {
    const web = start('web', 'latweb', sources);
    const url = await web.url();
    await start('worker', 'latworker').url();
    await waitFor('captions in Redis', async () => ((await (await fetch(`${url}/api/streams`)).json()) as { streams: { id: string; node: string | null }[] }).streams.every((s) => s.node), 60_000);
    await new Promise((r) => setTimeout(r, 5_000));
    cluster = add('cluster: worker → Redis → web node', await observe(url));
  } finally {
    await stopAll();
  }
  c.lines.push(
    `### Latency a viewer sees: caption made → received, ${viewers} viewers of one of ${streams} streams, ${c.seconds} s`,
    '',
    '| server | captions received | p50 ms | p95 ms | p99 ms |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `added by the cluster: p50 ${(cluster.p50 - alone.p50).toFixed(1)} ms, p95 ${(cluster.p95 - alone.p95).toFixed(1)} ms (goal: p50 ≤ 5 ms)`,
    '',
  );
}

/** `kills` worker kills in a row with the default 5 s lease. */
async function failover(c: Context): Promise<void> {
  const { rounds, viewers } = await killWorkersInTurn({ redisUrl: c.redis.url, mediaDir: c.media, source: 'calm.mp4', kills: c.kills, progress: (line) => console.error(line) });
  const stat = (ms: number[]) => {
    const s = [...ms].sort((a, b) => a - b);
    return `${(percentile(s, 50) / 1000).toFixed(1)} s | ${(s.at(-1)! / 1000).toFixed(1)} s`;
  };
  const continuous = viewers.every((v) => v.gaps === 0 && v.seqs.every((s, k) => k === 0 || s === v.seqs[k - 1] + 1));
  c.lines.push(
    `### Failover: ${c.kills} worker kills (SIGKILL) in a row, default 5 s lease, two workers, viewers on two web nodes`,
    '',
    '| from the kill to | median | max |',
    '|---|---|---|',
    `| the stream listed on another worker | ${stat(rounds.map((r) => r.movedMs))} |`,
    `| the viewers' next caption | ${stat(rounds.map((r) => r.captionMs))} |`,
    '',
    `viewers: ${viewers.map((v) => `${v.seqs.length} captions, ${v.gaps} gaps`).join('; ')}; every seq once and in order: ${continuous ? 'yes' : 'NO'}`,
    '',
  );
}

/** Redis memory per million events: captions as a pipeline makes them, without and with a keyframe JPEG each. */
async function memory(c: Context): Promise<void> {
  const client = await redisClient(c);
  const keys = clusterKeys();
  const events = new EventLog(client, keys);
  const used = async () => Number(/used_memory:(\d+)/.exec(await client.sendCommand<string>(['INFO', 'memory']))?.[1]);
  const rng = new Rng(5);
  const jpeg = encodeJpeg(renderScene(randomScene(rng), 160, 120), 80);
  const rows: string[] = [];
  try {
    for (const [label, count, withJpeg] of [
      ['captions', 100_000, false],
      ['captions with a 160×120 keyframe JPEG each', 20_000, true],
    ] as const) {
      await client.sendCommand(['FLUSHDB']);
      const stream = 'memory';
      const registry = await new StreamRegistry(client, keys).add(stream, { url: 'testsrc://smptebars', added: Date.now(), origin: 'api' });
      const lease = await new Leases(client, keys, 3_600_000).acquire(stream, 'bench');
      if (!registry || !lease) throw new Error('cannot set up the memory stream');
      const before = await used();
      let json = 0;
      for (let seq = 1; seq <= count; seq++) {
        const now = Date.now();
        const message = { type: 'caption', stream, seq, ts: now, frameTs: now - 120, text: CAPTIONS[seq % CAPTIONS.length], latencyMs: 95 + (seq % 40), outOfDomain: false, captioner: 'embedded' };
        const body = JSON.stringify(message);
        json += body.length;
        await events.append(lease, { seq, type: 'caption', ts: now, json: body, ...(withJpeg && { jpeg }) }, 10_000_000);
      }
      const perEvent = ((await used()) - before) / count;
      console.error(`${label}: ${perEvent.toFixed(0)} bytes an event in Redis`);
      rows.push(`| ${label} | ${(json / count).toFixed(0)} B${withJpeg ? ` + ${jpeg.length} B JPEG` : ''} | ${perEvent.toFixed(0)} B | ${((perEvent * 1e6) / 2 ** 30).toFixed(2)} GiB |`);
    }
  } finally {
    await client.sendCommand(['FLUSHDB']);
    client.destroy();
  }
  c.lines.push('### Redis memory per event (used_memory before and after appending)', '', '| events | JSON (mean) | Redis per event | per million events |', '|---|---|---|---|', ...rows, '');
}

const CAPTIONS = ['a large red circle on the grass', 'two small blue squares in the night', 'a person walking past a parked car near the door', 'a green triangle and a yellow star on the sand'];
