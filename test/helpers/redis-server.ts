/**
 * A real redis-server for tests, on a loopback port it chooses, with its files in a fresh
 * temporary folder: no snapshots, and an append-only file only when asked (to restart it and keep
 * what it held). `stop()` ends it (SIGTERM, or SIGKILL for a crash); `start()` brings it back on
 * the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { createClient, type RedisClientType } from '@redis/client';
import { freePort } from './rtsp-camera.js';

export const REDIS_SERVER = process.env.LIVECAP_REDIS_SERVER ?? 'redis-server';

export class RedisServer {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'livecap-redis-'));

  private constructor(
    readonly port: number,
    private readonly appendOnly: boolean,
  ) {}

  static async start(options: { appendOnly?: boolean } = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), options.appendOnly ?? false);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      this.appendOnly ? 'yes' : 'no',
      '--appendfsync',
      'always',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ];
    const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const failed = new Promise<never>((_, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${stderr.trim()}`)));
    });
    failed.catch(() => undefined);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const client = createClient({ url: this.url, socket: { reconnectStrategy: false } });
      client.on('error', () => undefined);
      try {
        await Promise.race([client.connect().then(() => client.ping()), failed]);
        client.destroy();
        return;
      } catch (error) {
        client.destroy();
        if (child.exitCode !== null || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Empties the database. */
  async flush(): Promise<void> {
    const client = createClient({ url: this.url });
    await client.connect();
    await client.sendCommand(['FLUSHDB']);
    client.destroy();
  }

  /** Ends the server: SIGTERM (a clean stop, the append-only file flushed) or SIGKILL (a crash). */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  async close(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A fresh redis-server and a client connected to it; `close()` ends both. */
export async function redisWithClient(): Promise<{ server: RedisServer; redis: RedisClientType; close(): Promise<void> }> {
  const server = await RedisServer.start();
  const redis: RedisClientType = createClient({ url: server.url });
  await redis.connect();
  return {
    server,
    redis,
    close: async () => {
      redis.destroy();
      await server.close();
    },
  };
}

/** A redis-server and a client for the tests of one file: started before them, ended after them. */
export function redisForTests(): { readonly server: RedisServer; readonly redis: RedisClientType } {
  const held = {} as { server: RedisServer; redis: RedisClientType; close(): Promise<void> };
  before(async () => Object.assign(held, await redisWithClient()));
  after(async () => held.close?.());
  return held;
}
