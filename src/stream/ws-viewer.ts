/**
 * A ws WebSocket as the hub's viewer: text frames out, its events in. Sends to a socket that is
 * closing or closed are dropped here, as ws itself would.
 */
import WebSocket from 'ws';
import type { Hub } from './hub.js';
import { log } from '../util/log.js';

/** Hands an accepted WebSocket from a client at `address` to the hub. */
export function acceptWebSocket(hub: Hub, ws: WebSocket, address?: string): void {
  const connection = hub.accept(
    {
      // A Buffer would go out as a binary frame unless told otherwise.
      send: (data) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary: false });
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
      close: (code, reason) => ws.close(code, reason),
      terminate: () => ws.terminate(),
      ping: () => ws.ping(),
    },
    address,
  );
  ws.on('error', (err) => log.debug('viewer socket error', { error: err.message }));
  ws.on('pong', () => connection.ponged());
  ws.on('close', () => connection.closed());
  ws.on('message', (data, isBinary) => connection.received(isBinary ? null : data.toString()));
}
