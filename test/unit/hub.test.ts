/**
 * The hub on sockets of the test's own (the `ViewerSocket` interface): what each viewer is sent
 * and in what order, slow viewers dropped, the heartbeat, slices of a broadcast, replays with
 * live events held. No network, no private fields, no timers waited on: a turn of the event
 * loop is awaited where the hub defers work to the next one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLOSE_TOO_SLOW, Hub, type HubDirectory, type ViewerConnection, type ViewerSocket } from '../../src/stream/hub.js';
import type { PendingReplay, Replay } from '../../src/stream/replay.js';
import type { CaptionMessage, StatusMessage } from '../../src/core/events.js';

class TestSocket implements ViewerSocket {
  readonly sent: any[] = [];
  bufferedAmount = 0;
  closedWith: number | undefined;
  terminated = false;
  pings = 0;
  connection!: ViewerConnection;
  send(data: string | Buffer): void {
    this.sent.push(JSON.parse(data.toString()));
  }
  close(code: number): void {
    this.closedWith = code;
  }
  terminate(): void {
    this.terminated = true;
  }
  ping(): void {
    this.pings++;
  }
  /** What the viewer sent, as ws would pass it on. */
  say(message: unknown): void {
    this.connection.received(JSON.stringify(message));
  }
  types(): string[] {
    return this.sent.map((m) => m.type);
  }
  captions(): number[] {
    return this.sent.filter((m) => m.type === 'caption').map((m) => m.seq);
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await nextTurn();
}

const caption = (stream: string, seq: number, text = `caption ${seq}`): CaptionMessage => ({ type: 'caption', stream, seq, ts: seq, frameTs: seq, text, latencyMs: 1 });

/** A directory of streams whose replays the test settles when it wants to. */
function directory(ids: string[]) {
  const replays: { id: string; since: number; resolve: (r: Replay) => void; upTo: number }[] = [];
  let lastSeq = 0;
  const dir: HubDirectory = {
    ids: () => ids,
    has: (id) => ids.includes(id),
    status: (id): StatusMessage => ({ type: 'status', stream: id, state: 'live' }),
    replay(id, since): PendingReplay {
      let resolve!: (r: Replay) => void;
      const done = new Promise<Replay>((r) => (resolve = r));
      replays.push({ id, since, resolve, upTo: lastSeq });
      return { upTo: lastSeq, done };
    },
  };
  return { dir, replays, setLastSeq: (n: number) => (lastSeq = n) };
}

function connect(hub: Hub, address?: string): TestSocket {
  const socket = new TestSocket();
  socket.connection = hub.accept(socket, address);
  return socket;
}

test('a viewer gets hello, then per subscribed stream its status and its live events; other streams stay out', async () => {
  const { dir } = directory(['a', 'b']);
  const hub = new Hub(dir, { heartbeatMs: 3_600_000 });
  try {
    const viewer = connect(hub);
    assert.deepEqual(viewer.sent, [{ type: 'hello', version: 1, streams: ['a', 'b'] }]);
    viewer.say({ type: 'subscribe', streams: ['a', 'a'] });
    await settle();
    hub.broadcast(caption('a', 1));
    hub.broadcast(caption('b', 1));
    hub.broadcast(caption('a', 2));
    assert.deepEqual(viewer.types(), ['hello', 'status', 'caption', 'caption']);
    assert.deepEqual(viewer.captions(), [1, 2]);
    viewer.say({ type: 'unsubscribe', streams: ['a'] });
    await settle();
    hub.broadcast(caption('a', 3));
    assert.deepEqual(viewer.captions(), [1, 2]);
    assert.equal(hub.stats.viewers, 1);
  } finally {
    hub.close();
  }
});

test('bad messages are answered with an error naming the problem, and the connection stays', async () => {
  const { dir } = directory(['a']);
  const hub = new Hub(dir, { heartbeatMs: 3_600_000 });
  try {
    const viewer = connect(hub);
    viewer.connection.received('{not json');
    viewer.connection.received(null);
    viewer.say([1, 2]);
    viewer.say({ type: 'dance' });
    viewer.say({ type: 'subscribe', streams: 'a' });
    viewer.say({ type: 'subscribe', streams: ['a'], since: { a: -1 } });
    viewer.say({ type: 'subscribe', streams: ['nope'] });
    await settle();
    assert.deepEqual(
      viewer.sent.slice(1).map((m) => m.code),
      ['bad_json', 'bad_message', 'bad_message', 'unknown_type', 'bad_streams', 'bad_since', 'unknown_stream'],
    );
    assert.match(viewer.sent.at(-1).message, /no such stream: nope/);
    assert.equal(viewer.closedWith, undefined);
    viewer.say({ type: 'subscribe', streams: ['a'] });
    await settle();
    hub.broadcast(caption('a', 1));
    assert.deepEqual(viewer.captions(), [1]);
  } finally {
    hub.close();
  }
});

test('a viewer with more than maxBufferedBytes queued is closed with 4008 and counted; the others get everything', async () => {
  const { dir } = directory(['a']);
  const hub = new Hub(dir, { heartbeatMs: 3_600_000, maxBufferedBytes: 1000 });
  try {
    const healthy = connect(hub);
    const slow = connect(hub);
    for (const v of [healthy, slow]) v.say({ type: 'subscribe', streams: ['a'] });
    await settle();
    hub.broadcast(caption('a', 1));
    slow.bufferedAmount = 1001;
    hub.broadcast(caption('a', 2));
    hub.broadcast(caption('a', 3));
    assert.equal(slow.closedWith, CLOSE_TOO_SLOW);
    assert.deepEqual(slow.captions(), [1], 'nothing more once over the limit');
    assert.deepEqual(healthy.captions(), [1, 2, 3]);
    assert.equal(hub.stats.droppedViewers, 1);
    assert.equal(hub.stats.viewers, 1);
  } finally {
    hub.close();
  }
});

test('the heartbeat pings every viewer and cuts off one that did not answer the round before', () => {
  const { dir } = directory([]);
  const hub = new Hub(dir, { heartbeatMs: 3_600_000 });
  try {
    const answers = connect(hub);
    const silent = connect(hub);
    hub.heartbeat();
    assert.deepEqual([answers.pings, silent.pings], [1, 1]);
    answers.connection.ponged();
    hub.heartbeat();
    assert.equal(silent.terminated, true, 'no pong to the first ping');
    assert.equal(answers.terminated, false);
    assert.equal(answers.pings, 2);
    assert.equal(hub.stats.viewers, 1);
    answers.connection.ponged();
    hub.heartbeat();
    assert.equal(answers.terminated, false);
  } finally {
    hub.close();
  }
});

test('a broadcast goes out sendsPerTurn sockets at a time; each viewer still gets its messages once and in order', async () => {
  const { dir } = directory(['a']);
  const hub = new Hub(dir, { heartbeatMs: 3_600_000, sendsPerTurn: 2 });
  try {
    const viewers = Array.from({ length: 5 }, () => connect(hub));
    await settle();
    for (const v of viewers) v.say({ type: 'subscribe', streams: ['a'] });
    await settle(10);
    const before = hub.stats.messages;
    hub.broadcast(caption('a', 1));
    hub.broadcast(caption('a', 2));
    assert.equal(hub.stats.messages - before, 2, 'one slice in the broadcasting turn');
    // A viewer that subscribes now gets its status behind what is already on its way.
    const late = connect(hub);
    await settle(10);
    assert.equal(hub.stats.messages - before, 10 + 1, 'every viewer got both, the late one its hello');
    for (const v of viewers) assert.deepEqual(v.captions(), [1, 2]);
    assert.deepEqual(late.types(), ['hello']);
  } finally {
    hub.close();
  }
});

test('a subscribe with since: status, gap, replayed events, then the live events held meanwhile, none twice', async () => {
  const { dir, replays, setLastSeq } = directory(['a']);
  const hub = new Hub(dir, { heartbeatMs: 3_600_000 });
  try {
    setLastSeq(5);
    const viewer = connect(hub);
    viewer.say({ type: 'subscribe', streams: ['a'], since: { a: 2 } });
    await settle();
    assert.equal(replays.length, 1);
    assert.equal(replays[0]!.since, 2);
    // Live events while the replay is read: 5 is already in it, 6 and 7 are new.
    hub.broadcast(caption('a', 5));
    hub.broadcast(caption('a', 6));
    hub.broadcast(caption('a', 7));
    assert.deepEqual(viewer.captions(), [], 'held during the replay');
    const stored = [3, 4, 5].map((seq) => ({ seq, type: 'caption', json: JSON.stringify(caption('a', seq)) }));
    replays[0]!.resolve({ gap: { from: 1, to: 2 }, events: stored });
    await settle();
    assert.deepEqual(viewer.types(), ['hello', 'status', 'gap', 'caption', 'caption', 'caption', 'caption', 'caption']);
    assert.deepEqual(viewer.captions(), [3, 4, 5, 6, 7]);
    hub.broadcast(caption('a', 8));
    assert.deepEqual(viewer.captions(), [3, 4, 5, 6, 7, 8]);
    assert.equal(hub.stats.replaying, 0);
  } finally {
    hub.close();
  }
});

test('a viewer that leaves mid-replay is sent nothing more, and the hub forgets it', async () => {
  const { dir, replays } = directory(['a']);
  const hub = new Hub(dir, { heartbeatMs: 3_600_000 });
  try {
    const viewer = connect(hub);
    viewer.say({ type: 'subscribe', streams: ['a'], since: { a: 0 } });
    await settle();
    viewer.connection.closed();
    replays[0]!.resolve({ events: [{ seq: 1, type: 'caption', json: JSON.stringify(caption('a', 1)) }] });
    await settle();
    hub.broadcast(caption('a', 2));
    assert.deepEqual(viewer.types(), ['hello', 'status']);
    assert.equal(hub.stats.viewers, 0);
    assert.equal(hub.stats.replaying, 0);
  } finally {
    hub.close();
  }
});

test('closing the hub closes every socket with 1001 and turns new ones away', () => {
  const { dir } = directory([]);
  const hub = new Hub(dir, { heartbeatMs: 3_600_000 });
  const viewer = connect(hub);
  hub.close();
  hub.close();
  assert.equal(viewer.closedWith, 1001);
  const late = connect(hub);
  assert.equal(late.closedWith, 1001);
  assert.deepEqual(late.sent, []);
});

test('a subscribe with since past what this server has received (a cluster node that lags) is not sent those events again when they arrive', async () => {
  const { dir, replays, setLastSeq } = directory(['a']);
  const hub = new Hub(dir, { heartbeatMs: 3_600_000 });
  try {
    // The viewer had up to 7 from another node; this one has received up to 4.
    setLastSeq(4);
    const viewer = connect(hub);
    viewer.say({ type: 'subscribe', streams: ['a'], since: { a: 7 } });
    await settle();
    hub.broadcast(caption('a', 5));
    replays[0]!.resolve({ events: [] });
    await settle();
    for (const seq of [6, 7, 8, 9]) hub.broadcast(caption('a', seq));
    await settle();
    assert.deepEqual(viewer.captions(), [8, 9]);
    // Subscribed again without since: everything live from then on.
    viewer.say({ type: 'subscribe', streams: ['a'] });
    await settle();
    hub.broadcast(caption('a', 10));
    await settle();
    assert.deepEqual(viewer.captions(), [8, 9, 10]);
  } finally {
    hub.close();
  }
});
