/**
 * A real mosquitto broker for tests, on a loopback port it chooses, configured by a file in a
 * fresh temporary folder (anonymous clients, no persistence: a restart forgets retained
 * messages, as a broker without a persistence file does). `stop()` ends it; `start()` brings it
 * back on the same port. `watch()` subscribes with the mqtt client and records what arrives.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { freePort } from './rtsp-camera.js';
import { waitFor } from './processes.js';

export const MOSQUITTO = process.env.LIVECAP_MOSQUITTO ?? '/usr/sbin/mosquitto';

/** A broker that takes TLS only (a certificate and key in PEM) and/or named users only. */
export interface BrokerOptions {
  tls?: { cert: string; key: string };
  users?: Record<string, string>;
}

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

  private constructor(
    readonly port: number,
    private readonly options: BrokerOptions,
  ) {}

  static async start(options: BrokerOptions = {}): Promise<Mosquitto> {
    const broker = new Mosquitto(await freePort(), options);
    await broker.start();
    return broker;
  }

  get url(): string {
    return `${this.options.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  /** How a test's own clients connect (the first user's name and password, the certificate as CA). */
  private clientOptions(): mqtt.IClientOptions {
    const [user] = Object.entries(this.options.users ?? {});
    return { ...(user && { username: user[0], password: user[1] }), ...(this.options.tls && { ca: readFileSync(this.options.tls.cert) }) };
  }

  async start(): Promise<void> {
    const conf = join(this.dir, 'mosquitto.conf');
    const lines = [`listener ${this.port} 127.0.0.1`, 'persistence false', 'log_dest stderr', 'log_type error'];
    // Started as root, mosquitto would become user mosquitto, who cannot read this test's private folders.
    if (process.getuid?.() === 0) lines.push('user root');
    if (this.options.users) {
      const passwords = join(this.dir, 'passwords');
      writeFileSync(passwords, '');
      for (const [name, password] of Object.entries(this.options.users)) execFileSync('mosquitto_passwd', ['-b', passwords, name, password]);
      lines.push('allow_anonymous false', `password_file ${passwords}`);
    } else lines.push('allow_anonymous true');
    if (this.options.tls) lines.push(`certfile ${this.options.tls.cert}`, `keyfile ${this.options.tls.key}`);
    writeFileSync(conf, `${lines.join('\n')}\n`);
    const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(
      `mosquitto on port ${this.port} (${stderr.trim()})`,
      async () => {
        if (child.exitCode !== null) throw new Error(`mosquitto exited (${child.exitCode}): ${stderr.trim()}`);
        const client = mqtt.connect(this.url, { reconnectPeriod: 0, connectTimeout: 1000, ...this.clientOptions() });
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
    const client = mqtt.connect(this.url, { reconnectPeriod: 500, ...this.clientOptions() });
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
