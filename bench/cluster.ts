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
 *
 *   livecap bench cluster [--parts throughput,fanout,latency,failover] [--seconds 40] [--streams 12]
 *                         [--viewers 1000] [--rate 50] [--kills 20]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
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
import { startServer } from '../src/stream/server.js';
import { acquireCaptioner, releaseCaptioner } from '../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../src/paths.js';
import type { CaptionMessage } from '../src/core/events.js';
import { RedisServer } from '../test/helpers/redis-server.js';
import { livecap, reap, type LivecapProcess } from '../test/helpers/livecap-process.js';
import { waitFor } from '../test/helpers/processes.js';
import { killWorkersInTurn } from '../test/helpers/worker-kills.js';
import { machineLine, percentile } from './machine.js';

const HELP = `usage: livecap bench cluster [--parts throughput,fanout,latency,failover] [--seconds 40] [--streams 12]
                             [--viewers 1000] [--rate 50] [--kills 20]

  livecap as several processes on one redis-server (started on a loopback port): captions per
  second with one worker process vs two, deliveries per second through one and two web nodes vs
  the single-process server, the latency a viewer sees single vs cluster, and failover time over
  --kills worker kills.`;

const PARTS = ['throughput', 'fanout', 'latency', 'failover'] as const;
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
      await { throughput, fanout, latency, failover }[part](context);
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
function starter(c: Context) {
  const processes: LivecapProcess[] = [];
  const start = (role: 'worker' | 'web', id: string, extra: string[] = []) => {
    const p = livecap(['serve', '--cluster', c.redis.url, '--role', role, '--node-id', id, '--port', '0', '--history', ':memory:', '--media-dir', c.media, '--summarizer', 'none', ...extra]);
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

/** Captions per second, one worker process vs two, with `streams` busy streams. */
async function throughput(c: Context): Promise<void> {
  const ids = Array.from({ length: c.streams }, (_, k) => `busy${k + 1}`);
  const sources = ids.flatMap((id) => ['--source', `${id}=busy.mp4`]);
  const client = await redisClient(c);
  const events = new EventLog(client, clusterKeys());
  const seqs = async () => (await Promise.all(ids.map((id) => events.lastSeq(id)))).reduce((a, b) => a + b, 0);
  const measure = async (label: string, workers: string[]) => {
    const { start, stopAll } = starter(c);
    try {
      const nodes = workers.map((id, k) => start('worker', id, k === 0 ? sources : []));
      await Promise.all(nodes.map((n) => n.url()));
      // Every stream running, spread over the workers, and captioning.
      await waitFor(
        'every stream held',
        async () => {
          const live = await liveNodes(client, clusterKeys());
          const held = live.flatMap((n) => n.streams.map((s) => s.id));
          return held.length === ids.length && live.filter((n) => n.streams.length > 0).length === workers.length;
        },
        120_000,
      );
      await new Promise((r) => setTimeout(r, 15_000));
      const first = await seqs();
      const started = performance.now();
      await new Promise((r) => setTimeout(r, c.seconds * 1000));
      const perSecond = ((await seqs()) - first) / ((performance.now() - started) / 1000);
      console.error(`${label}: ${perSecond.toFixed(1)} captions/s`);
      return perSecond;
    } finally {
      await stopAll();
      await client.sendCommand(['FLUSHDB']);
    }
  };
  try {
    const one = await measure('one worker process', ['solo']);
    const two = await measure('two worker processes', ['pair1', 'pair2']);
    c.lines.push(
      `### Throughput: ${c.streams} streams cutting every 0.2-0.5 s, embedded captioner, ${c.seconds} s after 15 s warm-up`,
      '',
      '| workers | captions/s |',
      '|---|---|',
      `| one process | ${one.toFixed(1)} |`,
      `| two processes | ${two.toFixed(1)} |`,
      '',
      `two / one: ×${(two / one).toFixed(2)} (goal ≥ 1.7 on 2 cores)`,
      '',
    );
  } finally {
    client.destroy();
  }
}

/** Starts the viewers of one stream in a process of their own; resolves with their report once `seconds` are over. */
async function viewerSwarm(
  url: string,
  stream: string,
  viewers: number,
  seconds: number,
): Promise<{ ready: Promise<void>; report: Promise<{ delivered: number; p50: number; p95: number; p99: number }> }> {
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
  const add = (label: string, r: { delivered: number; p50: number; p95: number; p99: number }) => {
    console.error(`${label}: p50 ${r.p50} ms, p95 ${r.p95} ms over ${r.delivered}`);
    rows.push(`| ${label} | ${r.delivered} | ${r.p50} | ${r.p95} | ${r.p99} |`);
    return r;
  };
  const single = livecap(['serve', '--port', '0', '--history', ':memory:', '--media-dir', c.media, '--summarizer', 'none', ...sources]);
  let alone;
  try {
    const url = await single.url();
    await new Promise((r) => setTimeout(r, 5_000));
    alone = add('single process', await observe(url));
  } finally {
    single.child.kill('SIGTERM');
    await single.exited;
  }
  const { start, stopAll } = starter(c);
  let cluster;
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
