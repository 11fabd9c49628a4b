/**
 * A webhook receiver on 127.0.0.1, as a user's service would be: it verifies each delivery's
 * signature with the Standard Webhooks reference library (not livecap's code) and records it.
 * It can be taken down (connections refused) and brought back on the same port, or made to
 * answer an error status.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Delivery {
  id: string;
  idempotencyKey: string;
  timestamp: number;
  verified: boolean;
  body: { type: string; timestamp: string; data: any };
  headers: Record<string, string | string[] | undefined>;
  at: number;
}

export interface Receiver {
  url: string;
  deliveries: Delivery[];
  /** Answers with this status from now on (200 by default). */
  answer(status: number): void;
  /** Stops listening: connections are refused. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function webhookReceiver(secret: string, path = '/hook'): Promise<Receiver> {
  const verifier = secret.startsWith('whsec_') ? new Webhook(secret) : new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' });
  const deliveries: Delivery[] = [];
  let status = 200;
  let server: Server | undefined;
  let port = 0;
  const listen = async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (req.url === path && status >= 200 && status < 300) {
          let verified = false;
          try {
            verifier.verify(text, req.headers as Record<string, string>);
            verified = true;
          } catch {
            // Recorded as not verified.
          }
          deliveries.push({
            id: String(req.headers['webhook-id']),
            idempotencyKey: String(req.headers['idempotency-key']),
            timestamp: Number(req.headers['webhook-timestamp']),
            verified,
            body: JSON.parse(text),
            headers: req.headers,
            at: Date.now(),
          });
        }
        res.writeHead(req.url === path ? status : 404).end();
      });
    });
    await new Promise<void>((resolve, reject) => server!.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
    port = (server.address() as AddressInfo).port;
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
      server = undefined;
    });
  await listen();
  return {
    url: `http://127.0.0.1:${port}${path}`,
    deliveries,
    answer: (s) => {
      status = s;
    },
    down: stop,
    up: listen,
    close: stop,
  };
}
