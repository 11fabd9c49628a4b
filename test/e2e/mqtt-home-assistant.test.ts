/**
 * MQTT and Home Assistant with the real parts: a mosquitto broker started here, and the real
 * `livecap serve` given one rule in its config file. What a Home Assistant user sees: the
 * stream and the rule appear under `homeassistant/` (each payload checked against Home
 * Assistant's documented schema), captions, statuses and alerts arrive under `livecap/<stream>/`
 * (QoS 1, the last caption retained, states within 255 characters), the rule's binary sensor
 * turns on. Home Assistant restarting gets the configs again; a rule added over the API appears
 * and, removed, goes. Then the broker restarts (forgetting everything): livecap reconnects and publishes
 * discovery and retained states again, having counted what its bounded buffer could not keep;
 * killed with SIGKILL, its last will says offline.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { SHAPES } from '../../src/synth/world.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { discoveryProblems } from '../helpers/ha-schema.js';
import { waitFor } from '../helpers/processes.js';
import { livecap, reap, metricValue } from '../helpers/livecap-process.js';

let media: string;
let broker: Mosquitto;

before(async () => {
  media = await mkdtemp(join(tmpdir(), 'livecap-mqtt-'));
  await writeVideo(videoScript(44, { duration: 10, width: 160, height: 120, fps: 10 }), join(media, 'clip.mp4'));
  broker = await Mosquitto.start();
});
after(async () => {
  await broker?.close();
  await rm(media, { recursive: true, force: true });
});

test('one rule in the config file and a broker: the stream and the rule appear in Home Assistant, alerts arrive, and it all survives a broker restart', async () => {
  const config = join(media, 'livecap.json');
  await writeFile(
    config,
    JSON.stringify({
      mediaDir: media,
      port: 0,
      sources: { cam: 'clip.mp4' },
      history: { path: join(media, 'history.db') },
      summarizer: 'none',
      rules: [{ id: 'shape', name: 'Shape seen', match: [...SHAPES], cooldown: 0 }],
      mqtt: { url: broker.url, maxBuffer: 3, publicUrl: 'http://cams.lan:8080' },
    }),
  );
  const ha = await broker.watch(['homeassistant/#', 'livecap/#']);
  const p = livecap(['serve', '--config', config]);
  try {
    const url = await p.url();
    await waitFor('an alert over MQTT', () => ha.messages.some((m) => m.topic === 'livecap/cam/alert'), 60_000);
    await waitFor('the rule on', () => ha.last('livecap/cam/rule/shape')?.payload === 'ON' || ha.messages.some((m) => m.topic === 'livecap/cam/rule/shape' && m.payload === 'ON'), 10_000);

    // Discovery: a device for the stream, a caption sensor and a binary sensor for the rule.
    const configs = ha.messages.filter((m) => m.topic.startsWith('homeassistant/') && m.payload !== '');
    const byTopic = new Map(configs.map((m) => [m.topic, JSON.parse(m.payload) as Record<string, any>]));
    for (const [topic, payload] of byTopic) assert.deepEqual(discoveryProblems(topic, payload), [], topic);
    // Retained: Home Assistant starting later still finds them.
    const later = await broker.watch(['homeassistant/#']);
    await waitFor('the retained configs', () => later.messages.length >= byTopic.size, 5000);
    assert.ok(later.messages.every((m) => m.retain && byTopic.has(m.topic)));
    await later.client.endAsync();
    const sensor = [...byTopic.entries()].find(([t]) => t.startsWith('homeassistant/sensor/') && t.includes('cam_caption'));
    const binary = [...byTopic.entries()].find(([t]) => t.startsWith('homeassistant/binary_sensor/') && t.includes('shape'));
    assert.ok(sensor && binary, `discovery topics: ${[...byTopic.keys()].join(', ')}`);
    assert.equal(binary[1].name, 'Shape seen');
    assert.equal(sensor[1].device.name, binary[1].device.name, 'one device per stream');
    assert.equal(sensor[1].device.configuration_url, 'http://cams.lan:8080/?stream=cam');
    // The entities' topics carry what they say.
    const captionState = ha.last(sensor[1].state_topic)!;
    const caption = JSON.parse(ha.last(sensor[1].json_attributes_topic)!.payload);
    assert.equal(captionState.payload, caption.text);
    assert.ok(captionState.payload.length <= 255);
    assert.match(caption.keyframeUrl, /^http:\/\/cams\.lan:8080\/api\/streams\/cam\/keyframes\/\d+\.jpg$/);
    assert.ok(ha.messages.filter((m) => m.topic === 'livecap/cam/caption').every((m) => m.qos === 1));
    const alert = JSON.parse(ha.messages.find((m) => m.topic === 'livecap/cam/alert')!.payload);
    assert.equal(alert.rule, 'shape');
    assert.equal(alert.stream, 'cam');
    // Availability: livecap and the stream online, the topics its entities name.
    assert.deepEqual(
      sensor[1].availability.map((a: { topic: string }) => ha.last(a.topic)?.payload),
      ['online', 'online'],
    );
    // The last caption is retained: a client that subscribes now gets it at once.
    const late = await broker.watch(['livecap/cam/caption']);
    await waitFor('the retained caption', () => late.messages.find((m) => m.retain), 5000);
    await late.client.endAsync();

    // Home Assistant restarts: its birth message brings the configs again.
    const mark = ha.messages.length;
    await ha.client.publishAsync('homeassistant/status', 'online');
    await waitFor('the configs sent again', () => ha.messages.slice(mark).some((m) => m.topic === sensor[0]), 10_000);
    // A rule added over the API appears as a binary sensor; removed, its entity goes (an empty retained config).
    const added = await fetch(`${url}/api/rules`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'zebra', name: 'Zebra', match: 'zebra' }) });
    assert.equal(added.status, 201);
    const zebra = await waitFor('the new rule discovered', () => ha.messages.find((m) => m.topic.includes('_rule_zebra/') && m.payload !== ''), 10_000);
    assert.deepEqual(discoveryProblems(zebra.topic, JSON.parse(zebra.payload)), []);
    assert.equal((await fetch(`${url}/api/rules/zebra`, { method: 'DELETE' })).status, 204);
    await waitFor('the removed rule undiscovered', () => ha.messages.some((m) => m.topic === zebra.topic && m.payload === ''), 10_000);

    // The broker restarts and forgets everything (no persistence); alerts meanwhile go to the bounded buffer.
    await broker.stop();
    await waitFor('livecap to notice', async () => metricValue(await (await fetch(`${url}/metrics`)).text(), 'livecap_mqtt_connected') === 0, 20_000);
    await waitFor('the buffer to overflow', async () => metricValue(await (await fetch(`${url}/metrics`)).text(), 'livecap_mqtt_dropped_total') > 0, 60_000);
    ha.messages.length = 0;
    await broker.start();
    await waitFor('discovery published again', () => ha.messages.some((m) => m.topic === sensor[0] && m.payload !== ''), 40_000);
    await waitFor('the caption state published again', () => ha.messages.some((m) => m.topic === sensor[1].state_topic), 10_000);
    assert.equal(ha.last('livecap/status')?.payload, 'online');
    await waitFor('alerts again', () => ha.messages.some((m) => m.topic === 'livecap/cam/alert'), 30_000);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.equal(metricValue(metrics, 'livecap_mqtt_connected'), 1);
    assert.ok(metricValue(metrics, 'livecap_mqtt_reconnects_total') >= 1);

    // Killed: the broker says offline for it (its last will).
    p.child.kill('SIGKILL');
    await p.exited;
    await waitFor('the last will', () => ha.last('livecap/status')?.payload === 'offline', 10_000);
  } finally {
    reap(p);
    await ha.client.endAsync();
  }
});
