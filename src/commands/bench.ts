/** `livecap bench NAME`: runs a benchmark from bench/ (each compares against a baseline in the same run). */
import { wantsHelp } from '../util/flags.js';
import { UsageError } from '../util/usage-error.js';

const BENCHMARKS: Record<string, string> = {
  captioner: '../../bench/captioner.js',
  scenes: '../../bench/scenes.js',
  ingest: '../../bench/ingest.js',
  generation: '../../bench/generation.js',
  florence2: '../../bench/florence2.js',
  providers: '../../bench/providers.js',
  history: '../../bench/history-size.js',
  viewers: '../../bench/viewers.js',
  soak: '../../bench/soak.js',
  hostile: '../../bench/hostile.js',
  loop: '../../bench/loop.js',
  heartbeats: '../../bench/heartbeats.js',
  cluster: '../../bench/cluster.js',
  domain: '../../bench/domain.js',
  alerts: '../../bench/alerts.js',
  'live-video': '../../bench/live-video.js',
};

export async function benchCommand(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  const path = name ? BENCHMARKS[name] : undefined;
  if (!path) {
    const usage = `usage: livecap bench <${Object.keys(BENCHMARKS).join('|')}> [options]\n\nrun 'livecap bench NAME --help' for a benchmark's options`;
    if (wantsHelp(args, usage)) return 0;
    throw new UsageError(name ? `unknown benchmark '${name}'\n\n${usage}` : usage);
  }
  const { run } = (await import(path)) as { run: (args: string[]) => Promise<number> };
  return run(rest);
}
