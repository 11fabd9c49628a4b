/**
 * The settings of livecap serve: defaults, a JSON config file, flags over it, tokens from the
 * environment, and every wrong setting listed in one error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveServeSettings, SERVE_DEFAULTS, DEFAULT_HISTORY } from '../../src/config/serve-settings.js';
import { EMBEDDED_CAPTIONER, EMBEDDED_SUMMARIZER } from '../../src/paths.js';

test('with nothing given: the demo stream on 127.0.0.1:8080 with the embedded models', () => {
  const s = resolveServeSettings({}, {}, 'c.json', {});
  assert.deepEqual(
    {
      host: s.host,
      port: s.port,
      sources: s.sources,
      captioner: s.captioner,
      summarizer: s.summarizer,
      window: [s.summaryWindowS, s.summaryHopS],
      fps: s.fps,
      analysis: s.analysis,
      history: s.history,
    },
    {
      host: '127.0.0.1',
      port: 8080,
      sources: [],
      captioner: EMBEDDED_CAPTIONER,
      summarizer: EMBEDDED_SUMMARIZER,
      window: [SERVE_DEFAULTS.embeddedSummaryWindow.window, SERVE_DEFAULTS.embeddedSummaryWindow.hop],
      fps: 10,
      analysis: { width: 160, height: 120 },
      history: { path: DEFAULT_HISTORY, days: 30, maxEvents: 1_000_000, maxMb: 0 },
    },
  );
  assert.deepEqual(s.auth, { viewerTokens: [], adminTokens: [] });
});

test('a config file sets everything, flags override it, tokens add up from file and environment', () => {
  const file = {
    host: '0.0.0.0',
    port: 9000,
    sources: { cam1: 'rtsp://a/1', cam2: 'rtsp://b/2' },
    captioner: 'onnx:models/a',
    captioners: { cam2: 'embedded' },
    summarizer: 'models/bart',
    fps: 5,
    analysisSize: '320x240',
    history: { path: '/tmp/h.db', days: 7 },
    auth: { viewerTokens: ['viewer-one'], adminTokens: ['admin-one-long'] },
  };
  const s = resolveServeSettings({ port: '9100', source: ['cam3=testsrc://smptebars'], captioner: ['cam3=onnx:models/c'] }, file, 'c.json', { LIVECAP_VIEWER_TOKENS: 'viewer-two, viewer-three' });
  assert.equal(s.host, '0.0.0.0');
  assert.equal(s.port, 9100);
  assert.deepEqual(
    s.sources.map((x) => x.id),
    ['cam1', 'cam2', 'cam3'],
  );
  assert.equal(s.captioner, 'onnx:models/a');
  assert.deepEqual(
    [...s.captioners],
    [
      ['cam2', EMBEDDED_CAPTIONER],
      ['cam3', 'onnx:models/c'],
    ],
  );
  assert.deepEqual([s.summarizer, s.summaryWindowS, s.summaryHopS], ['models/bart', 60, 15], 'other summarizers default to a minute');
  assert.deepEqual(s.analysis, { width: 320, height: 240 });
  assert.deepEqual(s.history, { path: '/tmp/h.db', days: 7, maxEvents: 1_000_000, maxMb: 0 });
  assert.deepEqual(s.auth, { viewerTokens: ['viewer-one', 'viewer-two', 'viewer-three'], adminTokens: ['admin-one-long'] });
  assert.equal(resolveServeSettings({ model: 'models/mine' }, {}, 'c', {}).captioner, 'models/mine');
});

test('every wrong setting is listed at once, naming where it came from', () => {
  const file = {
    port: 'eighty',
    fps: 99,
    analysisSize: 'big',
    sources: { 'bad name': 'x' },
    colour: 'red',
    history: { days: -1, keep: 1, maxMb: -1 },
    auth: { viewerTokens: ['short'] },
    captioners: { cam9: 'onnx:x' },
  };
  let message = '';
  try {
    resolveServeSettings({ 'summary-window': '10', 'summary-hop': '20', captioner: ['a', 'b'], source: ['=x'] }, file, 'livecap.json', {});
  } catch (err) {
    message = (err as Error).message;
  }
  const expected = [
    /livecap serve: \d+ settings are wrong:/,
    /livecap\.json colour: unknown setting \(known: host, port/,
    /livecap\.json history\.keep: unknown setting/,
    /livecap\.json sources\.bad name: stream names are/,
    /--source: must be NAME=URL/,
    /--captioner\/--model: more than one default captioner given \(a, b\)/,
    /captioner for 'cam9': there is no stream 'cam9'/,
    /summary window: the hop must be above 0 and at most the window \(got a 20 s hop and a 10 s window\)/,
    /livecap\.json port: must be a number, got "eighty"/,
    /fps: must be above 0 and at most 30, got 99/,
    /analysis size: must be WIDTHxHEIGHT between 16x16 and 1920x1080, got 'big'/,
    /history days: must be above 0, got -1/,
    /history max MiB: must be 0 \(no cap\) or above, got -1/,
    /viewerTokens: tokens must be at least 8 characters long/,
  ];
  for (const re of expected) assert.match(message, re);
  assert.throws(() => resolveServeSettings({}, [1, 2], 'x.json', {}), /x\.json: must hold a JSON object/);
});

test('stream cap, CORS origins and allowed hosts: defaults, file and flags, and what is wrong with each', () => {
  const none = resolveServeSettings({}, {}, 'c.json', {});
  assert.deepEqual([none.maxStreams, none.corsOrigins, none.allowedHosts], [64, [], []]);
  const s = resolveServeSettings(
    { 'max-streams': '8', 'cors-origin': ['http://127.0.0.1:9000/'], 'allowed-host': ['[::1]'] },
    { maxStreams: 4, corsOrigins: ['https://Dash.example.com'], allowedHosts: ['cams.example.com'] },
    'c.json',
    {},
  );
  assert.deepEqual([s.maxStreams, s.corsOrigins, s.allowedHosts], [8, ['https://dash.example.com', 'http://127.0.0.1:9000'], ['cams.example.com', '[::1]']]);
  assert.throws(
    () =>
      resolveServeSettings(
        { 'max-streams': '0', 'cors-origin': ['dash.example.com', 'https://x.org/path', '*'], 'allowed-host': ['http://cams', 'cams:8080', 'a/b'] },
        { corsOrigins: 'x' },
        'c.json',
        {},
      ),
    (err: Error) => {
      for (const bad of [
        /max streams: must be a whole number above 0, got 0/,
        /c\.json corsOrigins: must be a list of strings/,
        /cors origin: .*got 'dash\.example\.com'/,
        /cors origin: .*got 'https:\/\/x\.org\/path'/,
        /cors origin: .*got '\*'/,
        /allowed host: .*got 'http:\/\/cams'/,
        /allowed host: .*got 'cams:8080'/,
        /allowed host: .*got 'a\/b'/,
      ])
        assert.match(err.message, bad);
      assert.match(err.message, /8 settings are wrong/);
      return true;
    },
  );
  assert.throws(
    () => resolveServeSettings({ source: ['a=testsrc://smptebars', 'b=testsrc://smptebars'], 'max-streams': '1' }, {}, 'c.json', {}),
    /2 sources are configured but at most 1 streams may run/,
  );
});

test('dtype: none by default, from the file or --dtype, checked with the spec suffixes', () => {
  assert.equal(resolveServeSettings({}, {}, 'c.json', {}).dtype, undefined);
  assert.equal(resolveServeSettings({}, { dtype: 'q8' }, 'c.json', {}).dtype, 'q8');
  assert.equal(resolveServeSettings({ dtype: 'fp16' }, { dtype: 'q8' }, 'c.json', {}).dtype, 'fp16', 'the flag wins');
  const s = resolveServeSettings({ source: ['cam=testsrc://smptebars'], captioner: ['cam=onnx:models/vit?dtype=q4'], summarizer: 'models/bart?dtype=q8' }, {}, 'c.json', {});
  assert.equal(s.captioners.get('cam'), 'onnx:models/vit?dtype=q4');
  assert.equal(s.summarizer, 'models/bart?dtype=q8');
  assert.throws(
    () => resolveServeSettings({ source: ['cam=testsrc://smptebars'], captioner: ['cam=onnx:models/vit?dtype=q5'], summarizer: 'models/bart?dtype=int4' }, { dtype: 'half' }, 'c.json', {}),
    (err: Error) =>
      /3 settings are wrong/.test(err.message) &&
      /--captioner cam: models\/vit\?dtype=q5: unknown dtype 'q5'/.test(err.message) &&
      /summarizer: models\/bart\?dtype=int4: unknown dtype 'int4'/.test(err.message) &&
      /c\.json dtype: unknown dtype 'half' \(expected auto, fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4\)/.test(err.message),
  );
});

test('cluster: from --cluster or the file, role all by default, a node id made up when none is given, and what is wrong with each', () => {
  assert.equal(resolveServeSettings({}, {}, 'c', {}).cluster, undefined, 'alone by default');
  const s = resolveServeSettings({ cluster: 'redis://127.0.0.1:6379/2' }, {}, 'c', {});
  assert.equal(s.cluster?.url, 'redis://127.0.0.1:6379/2');
  assert.equal(s.cluster?.role, 'all');
  assert.match(s.cluster?.nodeId ?? '', /^[A-Za-z0-9_-]+-[0-9a-f]{4}$/);
  const f = resolveServeSettings({ role: 'web' }, { cluster: { url: 'rediss://user:pw@redis.example:6380', nodeId: 'web-1', capacity: 8 } }, 'c', {});
  assert.deepEqual(f.cluster, { url: 'rediss://user:pw@redis.example:6380', role: 'web', nodeId: 'web-1', capacity: 8 });
  assert.throws(
    () => resolveServeSettings({ cluster: 'http://user:secret@x:1', role: 'boss', 'node-id': 'a b' }, {}, 'c', {}),
    (err: Error) =>
      /cluster: must be redis:\/\/HOST:PORT\[\/DB\] or rediss:\/\/…, got 'http:\/\/user:\*\*\*@x:1/.test(err.message) &&
      !err.message.includes('secret') &&
      /role: must be all, worker or web, got 'boss'/.test(err.message) &&
      /node id: must be 1-64 letters/.test(err.message),
  );
  assert.throws(() => resolveServeSettings({ cluster: 'redis://x:1/abc' }, {}, 'c', {}), /the database must be a number like \/0/);
  assert.throws(() => resolveServeSettings({ role: 'worker' }, {}, 'c', {}), /--role and --node-id need --cluster/);
});

test('cluster leaseSeconds: a shorter lease moves a dead worker’s streams sooner; the worker then looks for streams more often', () => {
  assert.equal(resolveServeSettings({ cluster: 'redis://x:1' }, {}, 'c', {}).cluster?.timing, undefined, 'the defaults');
  const short = resolveServeSettings({ cluster: 'redis://x:1' }, { cluster: { leaseSeconds: 2 } }, 'c', {}).cluster?.timing;
  assert.deepEqual(short, { leaseMs: 2_000, tickMs: 500, rebalanceMs: 15_000 });
  const long = resolveServeSettings({ cluster: 'redis://x:1' }, { cluster: { leaseSeconds: 30 } }, 'c', {}).cluster?.timing;
  assert.deepEqual(long, { leaseMs: 30_000, tickMs: 1_000, rebalanceMs: 90_000 });
  for (const bad of [0, 0.5, 301])
    assert.throws(
      () => resolveServeSettings({ cluster: 'redis://x:1' }, { cluster: { leaseSeconds: bad } }, 'c', {}),
      new RegExp(`cluster leaseSeconds: must be a number of seconds from 1 to 300, got ${bad}`),
    );
});

test('rules, webhooks and MQTT: every problem named at once, a bad rule leaves the others checked, no secret echoed', () => {
  const file = {
    rules: [
      { id: 'x y', match: [], colour: 1 },
      { id: 'ok', match: 'person' },
      { id: 'ok', match: 'dog' },
      { id: 'loop', regex: '(a|b)+' },
    ],
    webhooks: [
      { url: 'ftp://example.com/x?token=abc', secret: 'short', events: ['alerts'] },
      { url: 'https://chat.example/api/webhooks/123/SECRETTOKEN', secretEnv: 'NOPE' },
    ],
    mqtt: { url: 'mqtt://user:hunter2@broker.lan:1883', topicPrefix: 'a/#', publicUrl: 'cams.lan' },
  };
  let message = '';
  try {
    resolveServeSettings({}, file, 'c.json', {});
  } catch (err) {
    message = (err as Error).message;
  }
  for (const part of [
    /c\.json rules\.0\.id: rule id must be/,
    /c\.json rules\.0: unknown field colour/,
    /rule id 'ok' is given more than once/,
    /rule 'loop': regex: a repeated group holds a quantifier or alternatives/,
    /webhook 'webhook-1': url must be an http/,
    /webhook 'webhook-1': the secret must be at least 16 characters/,
    /webhook 'webhook-1': events must be among alert, caption, summary, status; got "alerts"/,
    /webhook 'webhook-2': the environment variable NOPE \(secretEnv\) is not set/,
    /mqtt: topicPrefix must be topic levels/,
    /mqtt: publicUrl must be/,
  ])
    assert.match(message, part);
  assert.doesNotMatch(message, /SECRETTOKEN|hunter2|token=abc/);
  // And a good set reads: the secret from the environment, defaults filled in.
  const good = resolveServeSettings({}, { rules: [{ id: 'p', match: 'person' }], webhooks: [{ url: 'https://hooks.example/x', secretEnv: 'S' }], mqtt: { url: 'mqtt://broker.lan' } }, 'c.json', {
    S: 'a secret of sixteen+',
  });
  assert.deepEqual(good.webhooks, [{ id: 'webhook-1', url: 'https://hooks.example/x', secret: 'a secret of sixteen+', events: ['alert'], timeoutMs: 10_000 }]);
  assert.equal(good.mqtt?.topicPrefix, 'livecap');
  assert.equal(good.mqtt?.discoveryPrefix, 'homeassistant');
  assert.equal(good.rules.length, 1);
  assert.throws(() => resolveServeSettings({ cluster: 'redis://127.0.0.1:6379' }, { rules: [{ id: 'p', match: 'x' }] }, 'c.json', {}), /rules and alerts run on a single server for now/);
});

test('live video settings: defaults, values from the file, and each wrong one named', () => {
  assert.deepEqual(resolveServeSettings({}, {}, 'c.json', {}).liveVideo, { idleSeconds: 20, maxStreams: 16, captionHoldMs: 2000, hls: { segmentSeconds: 1, maxHeight: 480, bitrateKbps: 600 } });
  assert.deepEqual(resolveServeSettings({}, { liveVideo: { idleSeconds: 60, segmentSeconds: 2, maxHeight: 720, bitrateKbps: 1500, captionHoldSeconds: 4, maxStreams: 0 } }, 'c.json', {}).liveVideo, {
    idleSeconds: 60,
    maxStreams: 0,
    captionHoldMs: 4000,
    hls: { segmentSeconds: 2, maxHeight: 720, bitrateKbps: 1500 },
  });
  let message = '';
  try {
    resolveServeSettings({}, { liveVideo: { maxStreams: -1, idleSeconds: 0, segmentSeconds: 1.5, maxHeight: 10_000, bitrateKbps: 5, captionHoldSeconds: -1 } }, 'c.json', {});
  } catch (err) {
    message = (err as Error).message;
  }
  for (const part of [
    /c\.json liveVideo idleSeconds: must be from 2 to 3600, got 0/,
    /c\.json liveVideo maxStreams: must be a whole number from 0 to 1000, got -1/,
    /c\.json liveVideo segmentSeconds: must be a whole number from 1 to 10, got 1\.5/,
    /c\.json liveVideo maxHeight: must be a whole number from 120 to 2160, got 10000/,
    /c\.json liveVideo bitrateKbps: must be a whole number from 100 to 20000, got 5/,
    /c\.json liveVideo captionHoldSeconds: must be from 0 to 30, got -1/,
  ])
    assert.match(message, part);
  assert.throws(() => resolveServeSettings({}, { liveVideo: { idle: 3 } } as never, 'c.json', {}), /liveVideo: unknown setting \(known: idleSeconds, segmentSeconds/);
});
