/**
 * 10,000 fuzzed WebSocket messages against a live server: every one is answered with an
 * `error` message carrying a documented code, or the socket is closed with a documented code
 * (1009 too big, 1007 not UTF-8), and afterwards the server still serves viewers captions.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Rng } from '../../src/util/rng.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { waitFor } from '../helpers/processes.js';

const MESSAGES = Number(process.env.LIVECAP_FUZZ_MESSAGES ?? 10_000);
const ERROR_CODES = new Set(['bad_json', 'bad_message', 'unknown_type', 'bad_streams', 'bad_since', 'unknown_stream']);

type Fuzz = { data: string | Buffer; binary?: boolean; expect: 'error' | 1009 | 1007 };

/** One bad message of a random kind; the same seed gives the same messages. */
function fuzz(rng: Rng): Fuzz {
  const junk = (n: number) => Array.from({ length: n }, () => String.fromCharCode(rng.int(1, 0x2fff))).join('');
  const anyJson = (depth = 0): unknown =>
    depth > 3
      ? rng.pick([null, 1, 'x', true])
      : rng.pick([
          () => null,
          () => rng.int(-1e6, 1e6),
          () => rng.next(),
          () => junk(rng.int(0, 20)),
          () => [anyJson(depth + 1), anyJson(depth + 1)],
          () => ({ [junk(3)]: anyJson(depth + 1) }),
          () => true,
        ])();
  switch (rng.int(0, 11)) {
    case 0:
      return { data: junk(rng.int(1, 200)).replace(/^[[{"\d\-tfn ]/, '~'), expect: 'error' }; // not JSON
    case 1:
      return { data: '{"type": "subscribe", "streams": [' + '['.repeat(rng.int(1, 50)), expect: 'error' }; // truncated
    case 2:
      return { data: JSON.stringify(rng.pick([null, 42, 'subscribe', [], [1, 2], true])), expect: 'error' }; // not an object
    case 3:
      return { data: JSON.stringify({ type: rng.pick(['subscrib', 'SUBSCRIBE', '', 7, null, 'ping', junk(5)]), streams: ['demo'] }), expect: 'error' };
    case 4:
      return {
        data: JSON.stringify({ type: rng.pick(['subscribe', 'unsubscribe']), streams: rng.pick([undefined, 'demo', 5, { demo: 1 }, [1], [null], Array.from({ length: 300 }, (_, i) => `s${i}`)]) }),
        expect: 'error',
      };
    case 5:
      return { data: JSON.stringify({ type: 'subscribe', streams: ['demo'], since: rng.pick([[1], 'all', 3, true]) }), expect: 'error' };
    case 6:
      return { data: JSON.stringify({ type: 'subscribe', streams: [junk(rng.int(1, 30)) + '!'] }), expect: 'error' }; // no such stream
    case 7:
      return { data: JSON.stringify({ type: anyJson(), streams: anyJson(), since: anyJson() }), expect: 'error' };
    case 8:
      return { data: Buffer.from(junk(rng.int(1, 100))), binary: true, expect: 'error' };
    case 9:
      return { data: JSON.stringify({ type: 'subscribe', streams: ['demo'], pad: 'x'.repeat(64 * 1024) }), expect: 1009 };
    case 10:
      return { data: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), expect: 1007 }; // a text frame that is not UTF-8
    default:
      return { data: '['.repeat(rng.int(100, 5000)), expect: 'error' }; // deep and unterminated
  }
}

let ts: TestServer;
before(async () => {
  ts = await startTestServer();
  ts.server.manager!.add('demo', 'testsrc://smptebars');
});
after(() => ts.close());

class Client {
  readonly socket: WebSocket;
  private pending?: (r: { error?: string; close?: number }) => void;
  closed?: number;

  constructor(url: string) {
    this.socket = new WebSocket(url.replace('http', 'ws') + '/ws');
    this.socket.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'error') this.pending?.({ error: m.code });
    });
    this.socket.on('close', (code) => {
      this.closed = code;
      this.pending?.({ close: code });
    });
    this.socket.on('error', () => {});
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => this.socket.once('open', () => resolve()).once('error', reject));
  }

  /** Sends a message and waits for the server's error answer or its close. */
  send(f: Fuzz): Promise<{ error?: string; close?: number }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${String(f.data).slice(0, 80)}`)), 5000);
      this.pending = (r) => {
        clearTimeout(timer);
        this.pending = undefined;
        resolve(r);
      };
      // A Buffer sent with binary: false goes out as a text frame as it is, valid UTF-8 or not.
      this.socket.send(f.data, { binary: Boolean(f.binary) });
    });
  }
}

test(`${MESSAGES} fuzzed messages: each answered with a documented error code or close code, and the server serves on`, async () => {
  const rng = new Rng(20261125);
  let client = new Client(ts.server.url);
  await client.open();
  const tally = new Map<string, number>();
  for (let i = 0; i < MESSAGES; i++) {
    const f = fuzz(rng);
    const answer = await client.send(f);
    if (f.expect === 'error') {
      assert.ok(answer.error && ERROR_CODES.has(answer.error), `message ${i} (${String(f.data).slice(0, 60)}): answered ${JSON.stringify(answer)}`);
      tally.set(answer.error!, (tally.get(answer.error!) ?? 0) + 1);
    } else {
      assert.equal(answer.close, f.expect, `message ${i}: closed with ${answer.close}, expected ${f.expect}`);
      tally.set(`close ${f.expect}`, (tally.get(`close ${f.expect}`) ?? 0) + 1);
      client = new Client(ts.server.url);
      await client.open();
    }
  }
  client.socket.close();
  assert.equal(
    [...tally.values()].reduce((a, b) => a + b, 0),
    MESSAGES,
  );
  for (const kind of ['bad_json', 'bad_message', 'unknown_type', 'bad_streams', 'bad_since', 'unknown_stream', 'close 1009', 'close 1007']) assert.ok(tally.get(kind), `some ${kind}`);

  // Still serving: a new viewer subscribes and gets the stream's captions.
  const viewer = new WebSocket(ts.server.url.replace('http', 'ws') + '/ws');
  const got: any[] = [];
  viewer.on('message', (d) => got.push(JSON.parse(d.toString())));
  await new Promise((resolve) => viewer.once('open', resolve));
  viewer.send(JSON.stringify({ type: 'subscribe', streams: ['demo'], since: { demo: 0 } }));
  await waitFor('a caption', () => got.find((m) => m.type === 'caption'), 30_000);
  viewer.close();
  assert.equal((await fetch(`${ts.server.url}/healthz`)).status, 200);
});
