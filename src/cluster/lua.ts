import { createHash } from 'node:crypto';

/** The part of a Redis client livecap's cluster code uses: raw commands. */
export interface CommandSender {
  sendCommand<T = unknown>(args: ReadonlyArray<string | Buffer>, options?: { typeMapping?: object }): Promise<T>;
}

/**
 * A Lua script run by its SHA-1 (EVALSHA), sent in full (EVAL) when the server does not know it
 * yet (NOSCRIPT: a restarted or flushed Redis), which also caches it there again.
 */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
    readonly keyCount: number,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run<T>(client: CommandSender, keys: readonly string[], args: ReadonlyArray<string | Buffer>): Promise<T> {
    if (keys.length !== this.keyCount) throw new Error(`script ${this.name} takes ${this.keyCount} keys, not ${keys.length}`);
    try {
      return await client.sendCommand<T>(['EVALSHA', this.sha, String(keys.length), ...keys, ...args]);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return await client.sendCommand<T>(['EVAL', this.source, String(keys.length), ...keys, ...args]);
    }
  }
}
