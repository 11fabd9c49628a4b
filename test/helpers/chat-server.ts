/**
 * A chat-completions server on 127.0.0.1 that speaks the OpenAI protocol as vision-language
 * model servers do (Ollama, vLLM, llama.cpp's server): it records every request, checks its
 * shape, and answers what the test says.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeImage } from '../../src/media/image.js';

export interface Seen {
  at: number;
  auth?: string;
  body: any;
}

/**
 * A chat-completions server: records every request, checks its shape, and answers what
 * `reply` says (a caption, an error status, or nothing at all).
 */
export async function modelServer(reply: (n: number, req: IncomingMessage, res: ServerResponse) => 'caption' | 'handled' = () => 'caption') {
  const seen: Seen[] = [];
  const problems: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const held = new Set<ServerResponse>();
  const server = createServer(async (req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.once('close', () => inFlight--);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      problems.push(`${req.method} ${req.url}`);
      res.writeHead(404).end();
      return;
    }
    let body: any;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      problems.push('not JSON');
      res.writeHead(400).end();
      return;
    }
    seen.push({ at: Date.now(), auth: req.headers.authorization, body });
    const what = reply(seen.length, req, res);
    if (what === 'handled') {
      held.add(res);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: `c${seen.length}`,
        object: 'chat.completion',
        model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: `  A test pattern seen by ${body.model}, number ${seen.length}.\nSecond line.` }, finish_reason: 'stop' }],
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    seen,
    problems,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    /** Ends every held request with a caption. */
    releaseHeld() {
      for (const res of held) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'released' } }] }));
      held.clear();
    },
    close: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What a chat-completions request for a keyframe must look like. */
export function checkRequest(s: Seen, model: string, prompt: string) {
  assert.equal(s.body.model, model);
  assert.equal(s.body.messages.length, 1);
  const [message] = s.body.messages;
  assert.equal(message.role, 'user');
  const text = message.content.find((p: any) => p.type === 'text');
  const image = message.content.find((p: any) => p.type === 'image_url');
  assert.equal(text.text, prompt);
  const match = /^data:image\/jpeg;base64,(.+)$/.exec(image.image_url.url);
  assert.ok(match, 'the image is a JPEG data URL');
  const bytes = Buffer.from(match[1], 'base64');
  assert.deepEqual([...bytes.subarray(0, 3)], [0xff, 0xd8, 0xff], 'JPEG magic');
  const frame = decodeImage(bytes, 'keyframe');
  assert.deepEqual([frame.width, frame.height], [160, 120]);
}
