/**
 * The `livecap` command: parses the sub-command and its flags, then hands off to the module
 * that owns the work. Every sub-command returns an exit code; errors are printed by bin/.
 */
import { createRequire } from 'node:module';

type Command = (args: string[]) => Promise<number>;

const USAGE = `usage: livecap <command> [options]
       livecap --version

commands:
  serve [--source NAME=URL]… [--port 8080]        the live captioning server (demo stream by default)
  synth dataset --out DIR --count N --seed S     write a synthetic dataset (Flickr8k layout)
  synth video --out FILE.mp4 --seed S            write a synthetic clip and its ground truth
  train --dataset DIR --out MODEL_DIR            train a CNN→LSTM captioner
  finetune --model DIR --dataset DIR --epochs N   train backbone and decoder together
  train-summarizer --out MODEL_DIR               train the embedded BART summarizer on synthetic windows
  eval --dataset DIR --model MODEL_DIR           BLEU-1..4 and CIDEr on the held-out split
  domain [--model DIR] [--real PATH]…            fit the detector of frames a captioner does not know
  eval-summarizer [--model DIR]                  ROUGE-L of a summarizer on held-out synthetic videos
  caption IMAGE…                                 print one caption per image
  summarize < captions.txt                       print the summary of captions (one per line)
  scenes VIDEO [--json]                          print the scene cuts of a video (seconds)
  models pull OWNER/NAME                         download a model's ONNX export from the Hugging Face hub
  bench captioner|scenes|domain|ingest|generation|viewers|soak|hostile   benchmarks against a baseline in the same run

run 'livecap <command> --help' for a command's options`;

const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./commands/serve.js')).serveCommand,
  synth: async () => (await import('./commands/synth.js')).synthCommand,
  train: async () => (await import('./commands/train.js')).trainCommand,
  finetune: async () => (await import('./commands/finetune.js')).finetuneCommand,
  'train-summarizer': async () => (await import('./commands/train-summarizer.js')).trainSummarizerCommand,
  eval: async () => (await import('./commands/eval.js')).evalCommand,
  domain: async () => (await import('./commands/domain.js')).domainCommand,
  'eval-summarizer': async () => (await import('./commands/eval-summarizer.js')).evalSummarizerCommand,
  caption: async () => (await import('./commands/caption.js')).captionCommand,
  summarize: async () => (await import('./commands/summarize.js')).summarizeCommand,
  scenes: async () => (await import('./commands/scenes.js')).scenesCommand,
  models: async () => (await import('./commands/models.js')).modelsCommand,
  bench: async () => (await import('./commands/bench.js')).benchCommand,
};

/** livecap's version, from its package.json. */
export function version(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (name === '--version' || name === '-V') {
    console.log(`livecap ${version()}`);
    return 0;
  }
  if (!name) {
    console.error(USAGE);
    return 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`livecap: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  return (await load())(rest);
}
