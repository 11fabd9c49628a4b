/**
 * Webhooks end to end, with a real receiver on loopback that verifies every signature with the
 * Standard Webhooks reference library: alerts, captions and statuses arrive signed, in order,
 * each with its idempotency key; a receiver that is down, then answers 500, then comes back,
 * loses nothing and gets nothing twice but for retries of one key; deliveries a receiver keeps
 * refusing become dead letters, and one that never answers times out without holding up the
 * others; all of it in /metrics. Then the real process: killed with
 * SIGKILL while deliveries wait for a receiver that is down, started again, it delivers them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { startServer, type RunningServer } from '../../src/stream/server.js';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import { SHAPES } from '../../src/synth/world.js';
import { targetOf, WebhookOutbox } from '../../src/notify/webhook-outbox.js';
import { waitFor } from '../helpers/processes.js';
import { livecap, reap, metricValue } from '../helpers/livecap-process.js';
import { webhookReceiver, type Delivery } from '../helpers/webhook-receiver.js';
import type { SequencedMessage } from '../../src/core/events.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const RULE = { id: 'shape', match: [...SHAPES], cooldown: 0 };
let media: string;

before(async () => {
  media = await mkdtemp(join(tmpdir(), 'livecap-webhooks-'));
  await writeVideo(videoScript(43, { duration: 10, width: 160, height: 120, fps: 10 }), join(media, 'clip.mp4'));
});
after(async () => {
  await releaseCaptioner(EMBEDDED_CAPTIONER);
  await rm(media, { recursive: true, force: true });
});

const keysOf = (ds: Delivery[]) => ds.map((d) => d.id);
const history = async (url: string, stream: string) => ((await (await fetch(`${url}/api/streams/${stream}/captions?limit=1000`)).json()) as { captions: SequencedMessage[] }).captions;

test('signed deliveries survive a receiver that is down and then failing, in order, once per key; refused ones become dead letters', async () => {
  const receiver = await webhookReceiver(SECRET);
  // A path the receiver answers 404 for: refused every time.
  const refusing = receiver.url.replace('/hook', '/nope');
  // And one that takes the connection and never answers: it must not hold up the others.
  const held: Socket[] = [];
  const silent = createServer((socket) => held.push(socket.on('error', () => undefined)));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`;
  let server: RunningServer | undefined;
  try {
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      mediaDir: media,
      captioner: await acquireCaptioner(EMBEDDED_CAPTIONER),
      history: { path: join(media, 'in-process.db') },
      pipeline: { output: { width: 160, height: 120, fps: 10 } },
      rules: [RULE],
      webhooks: [
        { id: 'receiver', url: receiver.url, secret: SECRET, events: ['alert', 'caption', 'status'] },
        { id: 'refusing', url: refusing, secret: SECRET, events: ['alert'] },
        { id: 'silent', url: silentUrl, secret: SECRET, events: ['alert', 'caption'], timeoutMs: 500 },
      ],
      webhookTiming: { firstRetryMs: 100, maxRetryMs: 1000, maxRefusals: 2 },
    });
    const url = server.url;
    server.manager!.add('clip', 'clip.mp4');
    await waitFor('first deliveries', () => receiver.deliveries.some((d) => d.body.type === 'alert'), 30_000);

    // Down (connections refused), then up but answering 500, then well again.
    await receiver.down();
    const downAt = (await history(url, 'clip')).at(-1)!.seq;
    await waitFor('events while the receiver is down', async () => (await history(url, 'clip')).at(-1)!.seq >= downAt + 4, 30_000);
    await receiver.up();
    receiver.answer(500);
    await new Promise((r) => setTimeout(r, 1500));
    receiver.answer(200);
    await waitFor('events after the receiver is back', async () => (await history(url, 'clip')).at(-1)!.seq >= downAt + 8, 30_000);
    server.manager!.remove('clip');
    const kept = (await history(url, 'clip')).filter((m) => m.type === 'alert' || m.type === 'caption');
    await waitFor('every kept event delivered', () => kept.every((m) => receiver.deliveries.some((d) => d.id === `clip:${m.seq}`)), 30_000);

    const events = receiver.deliveries.filter((d) => d.body.type !== 'status');
    assert.ok(
      receiver.deliveries.every((d) => d.verified),
      'every signature verifies',
    );
    assert.ok(receiver.deliveries.every((d) => d.idempotencyKey === d.id));
    // Nothing twice: each key once (this receiver never failed after taking one).
    assert.equal(new Set(keysOf(events)).size, events.length);
    // In order, and each body is the event as viewers get it.
    assert.deepEqual(
      events.map((d) => d.body.data.seq),
      kept.map((m) => m.seq),
    );
    for (const d of events)
      assert.deepEqual(
        d.body.data,
        kept.find((m) => m.seq === d.body.data.seq),
      );
    assert.ok(receiver.deliveries.some((d) => d.body.type === 'status' && d.body.data.state === 'live'));
    assert.ok(events.some((d) => d.body.data.type === 'alert'));

    await waitFor('the refused alerts given up', () => server!.webhooks!.stats().get('refusing')!.pending === 0, 20_000);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const value = (name: string, hook: string) => Number(new RegExp(`^${name}\\{webhook="${hook}"\\} (\\S+)$`, 'm').exec(metrics)?.[1]);
    assert.equal(value('livecap_webhook_deliveries_total', 'receiver'), receiver.deliveries.length);
    assert.ok(value('livecap_webhook_retries_total', 'receiver') >= 2, 'the receiver was retried');
    assert.equal(value('livecap_webhook_dead_letters_total', 'receiver'), 0);
    assert.equal(value('livecap_webhook_dead_letters_total', 'refusing'), kept.filter((m) => m.type === 'alert').length);
    assert.equal(value('livecap_webhook_outbox', 'receiver'), 0);
    assert.equal(value('livecap_webhook_delivery_seconds_count', 'receiver'), receiver.deliveries.length);

    // What an operator sees: the origin only, counts, why a hook waits, its dead letters.
    const listed = ((await (await fetch(`${url}/api/webhooks`)).json()) as { webhooks: { id: string; url: string; lastError?: string; recentDeadLetters: { error: string }[] }[] }).webhooks;
    const byId = new Map(listed.map((h) => [h.id, h]));
    assert.equal(byId.get('receiver')!.url, new URL(receiver.url).origin);
    assert.match(byId.get('silent')!.lastError ?? '', /no answer within 0.5 s/);
    assert.match(byId.get('refusing')!.recentDeadLetters[0]?.error ?? '', /answered 404/);
    const silentStats = server.webhooks!.stats().get('silent')!;
    assert.equal(silentStats.delivered, 0);
    assert.ok(silentStats.retries >= 2 && silentStats.pending > 0, `the silent receiver timed out and waits: ${JSON.stringify(silentStats)}`);

    // A delivery queued an hour ago (the receiver was down all that time) still goes.
    const outbox = new WebhookOutbox(server.streams.store.connection);
    outbox.add('receiver', targetOf(receiver.url), 'clip:old', JSON.stringify({ type: 'caption', data: { old: true } }), Date.now() - 3_600_000);
    server.webhooks!.status({ type: 'status', stream: 'clip', state: 'stopped' });
    await waitFor('the hour-old delivery', () => receiver.deliveries.some((d) => d.id === 'clip:old'), 10_000);
  } finally {
    await server?.close();
    await receiver.close();
    for (const socket of held) socket.destroy();
    silent.close();
  }
});

test('the real process, killed with SIGKILL while deliveries wait for a receiver that is down, delivers them after a restart', async () => {
  const receiver = await webhookReceiver(SECRET);
  await receiver.down();
  const config = join(media, 'livecap.json');
  await writeFile(
    config,
    JSON.stringify({
      mediaDir: media,
      port: 0,
      sources: { cam: 'clip.mp4' },
      history: { path: join(media, 'process.db') },
      summarizer: 'none',
      rules: [RULE],
      webhooks: [{ id: 'receiver', url: receiver.url, secretEnv: 'HOOK_SECRET', events: ['alert', 'caption'] }],
    }),
  );
  const env = { HOOK_SECRET: SECRET };
  let p = livecap(['serve', '--config', config], { env });
  try {
    const url = await p.url();
    await waitFor(
      'alerts waiting in the outbox',
      async () => metricValue((await (await fetch(`${url}/metrics`)).text()).replace(/\{webhook="receiver"\}/g, ''), 'livecap_webhook_outbox') >= 4,
      60_000,
    );
    const before = (await history(url, 'cam')).filter((m) => m.type === 'alert' || m.type === 'caption');
    p.child.kill('SIGKILL');
    await p.exited;
    await receiver.up();
    p = livecap(['serve', '--config', config], { env });
    await p.url();
    await waitFor('every event kept before the kill delivered', () => before.every((m) => receiver.deliveries.some((d) => d.id === `cam:${m.seq}`)), 30_000);
    assert.ok(receiver.deliveries.every((d) => d.verified));
    // Rows delivered once: the ones from before the kill are not sent twice.
    const ids = keysOf(receiver.deliveries);
    assert.equal(new Set(ids).size, ids.length);
    assert.doesNotMatch(p.stderr() + p.stdout(), /whsec_/, 'the secret is never printed');
    p.child.kill('SIGTERM');
    assert.equal((await p.exited).code, 0);
  } finally {
    reap(p);
    await receiver.close();
  }
});
