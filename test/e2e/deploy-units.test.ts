/**
 * The systemd unit and node configurations in deploy/ run as written: the unit's ExecStart, its
 * environment files and the example worker and web node configurations (only their Redis URL,
 * ports and paths changed for this machine) start a real worker and a real web node on a real
 * redis-server; the web node lists both in /api/cluster, takes a stream over its API with the
 * example admin token, and serves the captions the worker makes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/processes.js';
import { livecap, reap, type LivecapProcess } from '../helpers/livecap-process.js';

const DEPLOY = join(PROJECT_ROOT, 'deploy', 'systemd');
let redis: RedisServer;
let root: string;
const processes: LivecapProcess[] = [];

before(async () => {
  redis = await RedisServer.start();
  root = await mkdtemp(join(tmpdir(), 'livecap-deploy-'));
  await mkdir(join(root, 'etc'));
  await mkdir(join(root, 'media'));
  await mkdir(join(root, 'state'));
  await writeVideo(videoScript(33, { duration: 8, minScene: 0.6, maxScene: 1.2, width: 160, height: 120, fps: 10 }), join(root, 'media', 'door.mp4'));
});

after(async () => {
  for (const p of processes) reap(p);
  await Promise.all(processes.map((p) => p.exited));
  await redis?.close();
  await rm(root, { recursive: true, force: true });
});

/** A unit file's sections: each key's values (a key may repeat, as EnvironmentFile does). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(\w+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const pair = /^(\w+)=(.*)$/.exec(line);
    assert.ok(pair && current, `a key=value line inside a section: '${line}'`);
    current.set(pair[1]!, [...(current.get(pair[1]!) ?? []), pair[2]!]);
  }
  return sections;
}

/** KEY=VALUE lines of an environment file. */
async function environmentFile(path: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    const pair = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (pair) env[pair[1]!] = pair[2]!;
  }
  return env;
}

test('deploy/systemd: the unit starts a worker and a web node from the example configurations; the web node serves the worker’s captions', async () => {
  const unit = parseUnit(await readFile(join(DEPLOY, 'livecap@.service'), 'utf8'));
  assert.deepEqual([...unit.keys()], ['Unit', 'Service', 'Install']);
  const service = unit.get('Service')!;
  assert.equal(service.get('Restart')?.[0], 'always');
  assert.equal(service.get('KillSignal')?.[0], 'SIGTERM', 'a stopped node hands its streams over at once');
  assert.equal(unit.get('Install')!.get('WantedBy')?.[0], 'multi-user.target');
  const [node, script, ...args] = service.get('ExecStart')![0]!.split(/\s+/);
  assert.equal(node, '/usr/bin/node');
  assert.equal(script, '/opt/livecap/bin/livecap.js');
  const tokens = await environmentFile(join(DEPLOY, 'livecap.env'));
  assert.ok(tokens.LIVECAP_ADMIN_TOKENS && tokens.LIVECAP_VIEWER_TOKENS, 'the shared environment file sets the access tokens');

  const start = async (instance: string) => {
    const config = JSON.parse(await readFile(join(DEPLOY, `${instance}.json`), 'utf8'));
    // This machine's Redis, ports and paths; everything else as shipped.
    config.cluster.url = redis.url;
    config.port = 0;
    config.mediaDir = join(root, 'media');
    config.history.path = join(root, 'state', `${instance}.db`);
    await writeFile(join(root, 'etc', `${instance}.json`), JSON.stringify(config));
    const argv = args.map((a) => a.replaceAll('%i', instance).replace('/etc/livecap', join(root, 'etc')));
    const p = livecap(argv, { env: { ...process.env, ...tokens } });
    processes.push(p);
    return p;
  };
  const worker = await start('worker-1');
  const web = await start('web-1');
  const url = await web.url();
  await worker.url();
  const viewer = { authorization: `Bearer ${tokens.LIVECAP_VIEWER_TOKENS!.split(',')[0]}` };
  const admin = { authorization: `Bearer ${tokens.LIVECAP_ADMIN_TOKENS!.split(',')[0]}` };
  assert.equal((await fetch(`${url}/api/cluster`)).status, 401, 'the tokens apply');
  const nodes = await waitFor('both nodes in /api/cluster', async () => {
    const { nodes } = (await (await fetch(`${url}/api/cluster`, { headers: viewer })).json()) as { nodes: { id: string; role: string; capacity: number }[] };
    return nodes.length === 2 && nodes;
  });
  assert.deepEqual(nodes.map((n) => [n.id, n.role, n.capacity]).sort(), [
    ['web-1', 'web', 0],
    ['worker-1', 'worker', 16],
  ]);
  const added = await fetch(`${url}/api/streams`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'door', url: 'door.mp4' }) });
  assert.equal(added.status, 201, await added.text());
  const captions = await waitFor(
    'captions through the web node',
    async () => {
      const { captions } = (await (await fetch(`${url}/api/streams/door/captions`, { headers: viewer })).json()) as { captions: { text: string }[] };
      return captions.length >= 2 && captions;
    },
    60_000,
  );
  assert.ok(captions.every((c) => c.text.length > 0));
  const listed = (await (await fetch(`${url}/api/streams`, { headers: viewer })).json()) as { streams: { id: string; node: string | null }[] };
  assert.equal(listed.streams.find((s) => s.id === 'door')?.node, 'worker-1');
  for (const p of [web, worker]) p.child.kill('SIGTERM');
  for (const p of [web, worker]) assert.equal((await p.exited).code, 0, p.stderr());
});
