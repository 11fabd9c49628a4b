/**
 * MQTT with the broker's security on: mosquitto taking TLS only (a certificate made here) and
 * named users only. livecap connects with a user, a password from the environment and the CA
 * file; with a wrong password, or without the CA, it says why (naming the broker, never the
 * password) and carries on serving, reconnecting in the background.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mosquitto } from '../helpers/mosquitto.js';
import { selfSignedCertificate } from '../helpers/certificates.js';
import { waitFor } from '../helpers/processes.js';
import { livecap, reap, metricValue } from '../helpers/livecap-process.js';

const PASSWORD = 'broker-pass-4711';
let dir: string;
let broker: Mosquitto;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livecap-mqtt-tls-'));
  await selfSignedCertificate(join(dir, 'key.pem'), join(dir, 'cert.pem'));
  broker = await Mosquitto.start({ tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') }, users: { livecap: PASSWORD } });
});
after(async () => {
  await broker?.close();
  await rm(dir, { recursive: true, force: true });
});

async function serve(name: string, mqtt: Record<string, unknown>, password: string) {
  const config = join(dir, `${name}.json`);
  await writeFile(
    config,
    JSON.stringify({
      port: 0,
      sources: { cam: 'testsrc://smptebars' },
      history: { path: ':memory:' },
      summarizer: 'none',
      mqtt: { url: broker.url, username: 'livecap', passwordEnv: 'MQTT_PASSWORD', ...mqtt },
    }),
  );
  return livecap(['serve', '--config', config], { env: { MQTT_PASSWORD: password, LIVECAP_LOG: 'info' } });
}

test('over TLS with a user and a password from the environment: livecap is online and its stream discovered', async () => {
  const watcher = await broker.watch(['livecap/status', 'homeassistant/#']);
  const p = await serve('good', { ca: join(dir, 'cert.pem') }, PASSWORD);
  try {
    const url = await p.url();
    await waitFor('online over TLS', () => watcher.last('livecap/status')?.payload === 'online', 20_000);
    await waitFor('the stream discovered', () => watcher.messages.some((m) => m.topic.includes('/livecap_cam_caption/')), 10_000);
    assert.equal(metricValue(await (await fetch(`${url}/metrics`)).text(), 'livecap_mqtt_connected'), 1);
    assert.doesNotMatch(p.stdout() + p.stderr(), new RegExp(PASSWORD), 'the password is never printed');
  } finally {
    reap(p);
    await watcher.client.endAsync();
  }
});

test('a wrong password, or a broker certificate it cannot check: said with the broker named, the password never, and the server serves on', async () => {
  for (const [name, mqtt, password, why] of [
    ['wrong-password', { ca: join(dir, 'cert.pem') }, 'not-the-password', /Not authorized|Bad username or password/i],
    ['no-ca', {}, PASSWORD, /certificate/i],
  ] as const) {
    const p = await serve(name, mqtt, password);
    try {
      const url = await p.url();
      await waitFor(`${name}: the reason in the log`, () => why.test(p.stderr()), 20_000);
      assert.match(p.stderr(), /"broker":"mqtts:\/\/127\.0\.0\.1:\d+".*"msg":"mqtt: broker error"/, `${name}: the broker is named`);
      assert.doesNotMatch(p.stdout() + p.stderr(), new RegExp(PASSWORD), `${name}: the password is never printed`);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      assert.equal(metricValue(await (await fetch(`${url}/metrics`)).text(), 'livecap_mqtt_connected'), 0);
    } finally {
      reap(p);
    }
  }
});
