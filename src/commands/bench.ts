/** `livecap bench NAME`: runs a benchmark from bench/ (each compares against a baseline in the same run). */
const BENCHMARKS: Record<string, string> = {
  captioner: '../../bench/captioner.js',
  scenes: '../../bench/scenes.js',
  ingest: '../../bench/ingest.js',
  generation: '../../bench/generation.js',
  viewers: '../../bench/viewers.js',
  soak: '../../bench/soak.js',
  loop: '../../bench/loop.js',
  heartbeats: '../../bench/heartbeats.js',
};

export async function benchCommand(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  const path = name ? BENCHMARKS[name] : undefined;
  if (!path) {
    console.log(`usage: livecap bench <${Object.keys(BENCHMARKS).join('|')}> [options]`);
    return name === '--help' || name === '-h' ? 0 : 2;
  }
  const { run } = (await import(path)) as { run: (args: string[]) => Promise<number> };
  return run(rest);
}
