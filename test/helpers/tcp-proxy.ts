/**
 * A TCP proxy on 127.0.0.1 in front of a server: what a network between a viewer and livecap
 * does, including failing. `cut()` drops every connection at once, as a restart or a lost
 * link would, and later connections go through again. `freeze()` makes every open connection
 * silent without closing it (a partition, a peer gone without a word): what is sent is lost,
 * nothing comes back; later connections go through.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  /** The proxy's http:// origin. */
  url: string;
  /** Drops every open connection (both sides), without a closing handshake. */
  cut(): void;
  /** Silences every open connection, both ways, leaving it open. */
  freeze(): void;
  close(): Promise<void>;
}

export async function tcpProxy(target: URL): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on('close', () => {
      pairs.delete(pair);
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    cut: () => {
      for (const socket of open) socket.resetAndDestroy();
    },
    freeze: () => {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        // Read and drop, so neither side sees back-pressure or a close.
        client.on('data', () => {});
        upstream.on('data', () => {});
      }
      pairs.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
