/**
 * Workers of a cluster killed with SIGKILL one after another, as real `livecap serve --cluster`
 * processes on one redis-server, with a viewer on each of two web nodes all along. After each
 * kill a fresh worker is started, so two workers are always there to take the stream. Used by the
 * soak test (zero gaps, zero duplicates) and by the failover benchmark (how long each move took).
 */
import WebSocket from 'ws';
import { livecap, reap, type LivecapProcess } from './livecap-process.js';
import { waitFor } from './processes.js';

/** What one viewer got: the seq of every caption and summary, gaps, and statuses, each with the time it arrived. */
export interface RecordingViewer {
  seqs: number[];
  gaps: number;
  statuses: { state: string; at: number }[];
  arrivals: { seq: number; at: number }[];
  socket: WebSocket;
}

export async function recordingViewer(url: string, stream: string): Promise<RecordingViewer> {
  const socket = new WebSocket(url.replace('http', 'ws') + '/ws');
  const viewer: RecordingViewer = { seqs: [], gaps: 0, statuses: [], arrivals: [], socket };
  socket.on('message', (d) => {
    const m = JSON.parse(d.toString()) as { type: string; stream?: string; seq?: number; state?: string };
    if (m.stream !== undefined && m.stream !== stream) return;
    if (m.type === 'gap') viewer.gaps++;
    if (m.type === 'status') viewer.statuses.push({ state: m.state ?? '', at: Date.now() });
    if ((m.type === 'caption' || m.type === 'summary') && typeof m.seq === 'number') {
      viewer.seqs.push(m.seq);
      viewer.arrivals.push({ seq: m.seq, at: Date.now() });
    }
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'subscribe', streams: [stream] }));
  return viewer;
}

export interface KillRound {
  /** The worker killed. */
  victim: string;
  /** From the kill until a web node lists the stream on another worker. */
  movedMs: number;
  /** From the kill until the first viewer gets the next caption. */
  captionMs: number;
}

export interface WorkerKillsOptions {
  redisUrl: string;
  mediaDir: string;
  /** The stream's source, a file under mediaDir. */
  source: string;
  kills: number;
  /** serve arguments every node gets beside the cluster's (e.g. --config with a shorter lease). */
  extra?: string[];
  progress?: (line: string) => void;
}

export interface WorkerKills {
  rounds: KillRound[];
  viewers: RecordingViewer[];
  stderr: string[];
}

/** Runs the kills; every process it started is ended when it returns or throws. */
export async function killWorkersInTurn(o: WorkerKillsOptions): Promise<WorkerKills> {
  const processes = new Map<string, LivecapProcess>();
  let named = 0;
  const start = (role: 'worker' | 'web', id: string, more: string[] = []) => {
    const p = livecap([
      'serve',
      '--cluster',
      o.redisUrl,
      '--role',
      role,
      '--node-id',
      id,
      '--port',
      '0',
      '--history',
      ':memory:',
      '--media-dir',
      o.mediaDir,
      '--summarizer',
      'none',
      ...(o.extra ?? []),
      ...more,
    ]);
    processes.set(id, p);
    return p;
  };
  const worker = () => start('worker', `w${++named}`);
  try {
    const webs = [start('web', 'web1', ['--source', `soak=${o.source}`]), start('web', 'web2')];
    const urls = await Promise.all(webs.map((w) => w.url()));
    await Promise.all([worker().url(), worker().url()]);
    const owner = async () => {
      const { streams } = (await (await fetch(`${urls[0]}/api/streams`)).json()) as { streams: { id: string; node: string | null }[] };
      return streams.find((s) => s.id === 'soak')?.node ?? undefined;
    };
    await waitFor('the stream listed on both web nodes', async () => {
      const lists = await Promise.all(urls.map(async (u) => ((await (await fetch(`${u}/api/streams`)).json()) as { streams: { id: string }[] }).streams));
      return lists.every((l) => l.some((s) => s.id === 'soak'));
    });
    const viewers = await Promise.all(urls.map((u) => recordingViewer(u, 'soak')));
    await waitFor('captions on both web nodes', () => viewers.every((v) => v.seqs.length >= 2), 60_000);
    const rounds: KillRound[] = [];
    for (let k = 0; k < o.kills; k++) {
      const victim = await waitFor('the stream’s worker', owner, 30_000);
      const seen = viewers[0].seqs.length;
      const killed = Date.now();
      processes.get(victim)!.child.kill('SIGKILL');
      await processes.get(victim)!.exited;
      processes.delete(victim);
      const replacement = worker();
      const moved = await waitFor(
        `the stream on a worker other than ${victim}`,
        async () => {
          const now = await owner();
          return now !== undefined && now !== victim && Date.now();
        },
        30_000,
      );
      const captioned = await waitFor('a caption after the kill', () => viewers[0].arrivals.slice(seen).find((a) => a.at >= killed)?.at, 30_000);
      await waitFor('two captions after the kill', () => viewers[0].seqs.length >= seen + 2, 30_000);
      await replacement.url();
      rounds.push({ victim, movedMs: moved - killed, captionMs: captioned - killed });
      o.progress?.(`kill ${k + 1}/${o.kills}: ${victim} killed, stream moved in ${moved - killed} ms, caption again in ${captioned - killed} ms`);
    }
    // Both viewers have caught up with the last caption before they are compared.
    const last = viewers[0].seqs.at(-1)!;
    await waitFor('the second viewer caught up', () => viewers[1].seqs.includes(last), 10_000);
    for (const v of viewers) v.socket.close();
    return { rounds, viewers, stderr: [...processes.values()].map((p) => p.stderr()) };
  } finally {
    for (const p of processes.values()) reap(p);
    await Promise.all([...processes.values()].map((p) => p.exited));
  }
}
