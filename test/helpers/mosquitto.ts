/**
 * A real mosquitto broker for tests, on a loopback port it chooses, configured by a file in a
 * fresh temporary folder (anonymous clients, no persistence: a restart forgets retained
 * messages, as a broker without a persistence file does). `stop()` ends it; `start()` brings it
 * back on the same port. `watch()` subscribes with the mqtt client and records what arrives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { freePort } from './rtsp-camera.js';
import { waitFor } from './processes.js';

export const MOSQUITTO = process.env.LIVECAP_MOSQUITTO ?? '/usr/sbin/mosquitto';

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  qos: number;
  at: number;
}

export class Mosquitto {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'livecap-mosquitto-'));

  private constructor(readonly port: number) {}

  static async start(): Promise<Mosquitto> {
    const broker = new Mosquitto(await freePort());
    await broker.start();
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const conf = join(this.dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${this.port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\n`);
    const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(
      `mosquitto on port ${this.port} (${stderr.trim()})`,
      async () => {
        if (child.exitCode !== null) throw new Error(`mosquitto exited (${child.exitCode}): ${stderr.trim()}`);
        const client = mqtt.connect(this.url, { reconnectPeriod: 0, connectTimeout: 1000 });
        const ok = await new Promise<boolean>((resolve) => {
          client.once('connect', () => resolve(true));
          client.once('error', () => resolve(false));
          client.once('close', () => resolve(false));
        });
        await client.endAsync(true);
        return ok;
      },
      10_000,
    );
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    this.child = undefined;
  }

  /** A client subscribed to `filters`, recording every message (retained ones included). */
  async watch(filters: string[]): Promise<{ messages: Received[]; client: MqttClient; last(topic: string): Received | undefined }> {
    const client = mqtt.connect(this.url, { reconnectPeriod: 500 });
    const messages: Received[] = [];
    client.on('message', (topic, payload, packet) => messages.push({ topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos, at: Date.now() }));
    await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject));
    await client.subscribeAsync(filters, { qos: 1 });
    return { messages, client, last: (topic) => messages.filter((m) => m.topic === topic).at(-1) };
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
