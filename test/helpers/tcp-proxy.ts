/**
 * A TCP proxy on 127.0.0.1 in front of a server: what a network between a viewer and livecap
 * does, including failing. `cut()` drops every connection at once, as a restart or a lost
 * link would, and later connections go through again.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  /** The proxy's http:// origin. */
  url: string;
  /** Drops every open connection (both sides), without a closing handshake. */
  cut(): void;
  close(): Promise<void>;
}

export async function tcpProxy(target: URL): Promise<TcpProxy> {
  const open = new Set<Socket>();
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
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    cut: () => {
      for (const socket of open) socket.resetAndDestroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
