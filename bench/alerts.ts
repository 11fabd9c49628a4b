/**
 * Alerts benchmark, two parts:
 *
 * 1. Rule evaluation per event with 1,000 rules (`--rules`), on captions of the synthetic world's
 *    words: the baseline is splitting and stemming the text alone (what any rule needs), then
 *    evaluation with no rule, and with 1,000 (words, phrases, `all` rules, negations and 50
 *    regular expressions). Microseconds per event, mean and p95 over `--events` events.
 * 2. Delivery latency on loopback: the real server captions `--streams` synthetic clips with the
 *    embedded model, a rule raising an alert for most captions; a WebSocket viewer, an MQTT
 *    subscriber on a mosquitto the benchmark starts, and a webhook receiver all get every
 *    caption. For each caption: when each got it. Reported: caption made (its ts) → WebSocket
 *    viewer, → MQTT message, → webhook delivery, and what MQTT and the webhook add over the
 *    WebSocket viewer, p50 and p95 (goal ≤ 20 ms added at p95).
 *
 *   livecap bench alerts [--rules 1000] [--events 20000] [--streams 3] [--seconds 40]
 *
 * Everything runs on 127.0.0.1 and stops by itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { RuleBook } from '../src/rules/rule-book.js';
import { terms } from '../src/rules/terms.js';
import type { RuleSpec } from '../src/rules/rule.js';
import { startServer } from '../src/stream/server.js';
import { acquireCaptioner, releaseCaptioner } from '../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../src/paths.js';
import { videoScript, writeVideo } from '../src/synth/video.js';
import { COLOURS, SHAPES } from '../src/synth/world.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { webhookReceiver } from '../test/helpers/webhook-receiver.js';
import { machineLine, summarize } from './machine.js';

const WORDS = [...COLOURS, ...SHAPES, 'big', 'small', 'little', 'left', 'right', 'top', 'sky', 'lawn', 'sand', 'night', 'two', 'three', 'one', 'moving', 'center', 'a', 'the', 'on', 'in', 'and'];

function randomWords(n: number, random: () => number): string {
  return Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ');
}

function mulberry(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Words rules may name: the captions' own, and as many again that captions never say. */
const RULE_WORDS = [...WORDS, ...Array.from({ length: 400 }, (_, i) => `thing${i}`)];

function makeRules(count: number, vocabulary: readonly string[], random: () => number): RuleSpec[] {
  const words = (n: number) => Array.from({ length: n }, () => vocabulary[Math.floor(random() * vocabulary.length)]).join(' ');
  return Array.from({ length: count }, (_, i) => {
    const kind = i % 20;
    if (kind === 0) return { id: `r${i}`, regex: `\\b${WORDS[i % WORDS.length]} (circle|star)s?\\b`, cooldown: 0 };
    if (kind < 5) return { id: `r${i}`, match: [words(2), words(1)], mode: 'all', cooldown: 0 };
    if (kind < 8) return { id: `r${i}`, match: words(1), not: words(1), cooldown: 0 };
    return { id: `r${i}`, match: [words(2), words(3)], cooldown: 0 };
  });
}

function evaluationPart(ruleCount: number, events: number): void {
  const random = mulberry(14);
  const texts = Array.from({ length: events }, () => randomWords(6 + Math.floor(random() * 8), random));
  const time = (label: string, work: (text: string, i: number) => void) => {
    for (let i = 0; i < 500; i++) work(texts[i]!, i); // warm-up
    const us: number[] = [];
    for (let i = 0; i < texts.length; i++) {
      const t0 = performance.now();
      work(texts[i]!, i);
      us.push((performance.now() - t0) * 1000);
    }
    const s = summarize(us);
    console.log(`| ${label} | ${s.mean.toFixed(1)} | ${s.p50.toFixed(1)} | ${s.p95.toFixed(1)} |`);
  };
  console.log(`\nRule evaluation, ${events} captions of 6-13 words (µs per event)\n`);
  console.log('| what | mean | p50 | p95 |\n|---|---|---|---|');
  time('split and stem the text alone (baseline)', (text) => terms(text));
  const empty = new RuleBook();
  time('evaluate, no rule (returns at once)', (text) => empty.evaluate({ type: 'caption', stream: 's', text }));
  for (const [label, vocabulary] of [
    [`evaluate, ${ruleCount} rules on words captions say and ${RULE_WORDS.length - WORDS.length} they never say`, RULE_WORDS],
    [`evaluate, ${ruleCount} rules all on words captions say (worst case)`, WORDS],
  ] as const) {
    const book = new RuleBook();
    for (const r of makeRules(ruleCount, vocabulary, random)) book.set(r, 'config');
    let fired = 0;
    time(label, (text, i) => {
      fired += book.evaluate({ type: 'caption', stream: `s${i % 8}`, text }).length;
    });
    console.log(`|   (${(fired / texts.length).toFixed(1)} alerts an event) | | | |`);
  }
}

async function latencyPart(streams: number, seconds: number): Promise<void> {
  const media = await mkdtemp(join(tmpdir(), 'livecap-bench-alerts-'));
  const broker = await Mosquitto.start();
  const secret = 'a benchmark secret, long enough';
  const receiver = await webhookReceiver(secret);
  const captioner = await acquireCaptioner(EMBEDDED_CAPTIONER);
  for (let i = 0; i < streams; i++) await writeVideo(videoScript(60 + i, { duration: 20, width: 160, height: 120, fps: 10 }), join(media, `clip${i}.mp4`));
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    mediaDir: media,
    captioner,
    history: { path: join(media, 'history.db') },
    pipeline: { output: { width: 160, height: 120, fps: 10 } },
    rules: [{ id: 'shape', match: [...SHAPES], cooldown: 0 }],
    webhooks: [{ id: 'bench', url: receiver.url, secret, events: ['caption', 'alert'] }],
    mqtt: { url: broker.url, topicPrefix: 'livecap', discovery: true, discoveryPrefix: 'homeassistant', maxBuffer: 1000 },
  });
  const got = new Map<string, { made: number; ws?: number; mqtt?: number; hook?: number }>();
  const seen = (stream: string, seq: number, made: number, where: 'ws' | 'mqtt' | 'hook') => {
    const key = `${stream}:${seq}`;
    const entry = got.get(key) ?? { made };
    entry[where] ??= Date.now();
    got.set(key, entry);
  };
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
  socket.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.type === 'caption') seen(m.stream, m.seq, m.ts, 'ws');
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const ids = Array.from({ length: streams }, (_, i) => `cam${i}`);
  ids.forEach((id, i) => server.manager!.add(id, `clip${i}.mp4`));
  socket.send(JSON.stringify({ type: 'subscribe', streams: ids }));
  const mqtt = await broker.watch(['livecap/+/caption']);
  mqtt.client.on('message', (_topic, payload, packet) => {
    if (packet.retain) return;
    const m = JSON.parse(payload.toString());
    seen(m.stream, m.seq, m.ts, 'mqtt');
  });
  const hooks = receiver.deliveries;
  const pollHooks = setInterval(() => {
    for (const d of hooks.splice(0)) if (d.body.type === 'caption') seen(d.body.data.stream, d.body.data.seq, d.body.data.ts, 'hook');
  }, 1);
  // The receiver records on arrival; the poll above reads it within a millisecond.
  await new Promise((r) => setTimeout(r, 5000)); // warm-up
  got.clear();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await new Promise((r) => setTimeout(r, 2000)); // the last deliveries
  clearInterval(pollHooks);
  const all = [...got.values()].filter((e) => e.ws && e.mqtt && e.hook);
  const row = (label: string, values: number[]) => {
    const s = summarize(values);
    console.log(`| ${label} | ${s.p50.toFixed(1)} | ${s.p95.toFixed(1)} | ${s.mean.toFixed(1)} |`);
  };
  console.log(`\nDelivery latency on loopback, ${streams} streams, ${all.length} captions over ${seconds} s (ms)\n`);
  console.log('| from the caption being made to | p50 | p95 | mean |\n|---|---|---|---|');
  row(
    'a WebSocket viewer (baseline)',
    all.map((e) => e.ws! - e.made),
  );
  row(
    'an MQTT subscriber (via mosquitto)',
    all.map((e) => e.mqtt! - e.made),
  );
  row(
    'a webhook receiver (signed POST)',
    all.map((e) => e.hook! - e.made),
  );
  row(
    'MQTT over the WebSocket viewer (added)',
    all.map((e) => e.mqtt! - e.ws!),
  );
  row(
    'webhook over the WebSocket viewer (added)',
    all.map((e) => e.hook! - e.ws!),
  );
  socket.close();
  await mqtt.client.endAsync();
  await server.close();
  await releaseCaptioner(EMBEDDED_CAPTIONER);
  await receiver.close();
  await broker.close();
  await rm(media, { recursive: true, force: true });
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      rules: { type: 'string', default: '1000' },
      events: { type: 'string', default: '20000' },
      streams: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '40' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log('usage: livecap bench alerts [--rules 1000] [--events 20000] [--streams 3] [--seconds 40]');
    return 0;
  }
  console.log(`# alerts benchmark: ${machineLine()}`);
  evaluationPart(Number(values.rules), Number(values.events));
  await latencyPart(Number(values.streams), Number(values.seconds));
  return 0;
}
