import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSignedCertificate } from '../helpers/certificates.js';
import type { AddressInfo } from 'node:net';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import type { RunningServer } from '../../src/stream/server.js';
import { waitFor } from '../helpers/processes.js';
import { startTestServer } from '../helpers/test-server.js';
import type { StreamMessage } from '../../src/core/events.js';

// A camera-like HTTPS server on loopback with a self-signed certificate made for this run
// (valid for 127.0.0.1, so only the missing trust can fail it), serving a real video.
let dir: string;
let https: Server;
let misnamed: Server;
let origin: string;
let server: RunningServer;
let events: StreamMessage[];
let close: () => Promise<void>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livecap-tls-'));
  await selfSignedCertificate(join(dir, 'key.pem'), join(dir, 'cert.pem'));
  await selfSignedCertificate(join(dir, 'other-key.pem'), join(dir, 'other.pem'), 'other.example');
  await writeFile(join(dir, 'trusted.pem'), Buffer.concat([await readFile(join(dir, 'cert.pem')), await readFile(join(dir, 'other.pem'))]));
  await writeVideo(videoScript(23, { duration: 8, width: 160, height: 120, fps: 10 }), join(dir, 'clip.mp4'));
  const clip = await readFile(join(dir, 'clip.mp4'));
  const serve = async (key: string, cert: string) => {
    const s = createServer({ key: await readFile(join(dir, key)), cert: await readFile(join(dir, cert)) }, (req, res) => {
      if (req.url?.startsWith('/clip.mp4')) res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': clip.length }).end(clip);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return s;
  };
  https = await serve('key.pem', 'cert.pem');
  origin = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
  // A certificate for another host name, from an authority the second test trusts.
  misnamed = await serve('other-key.pem', 'other.pem');
  ({ server, events, close } = await startTestServer({ supervisor: { backoffInitialMs: 5000, backoffMaxMs: 5000 } }));
});

after(async () => {
  await close();
  for (const s of [https, misnamed]) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  await rm(dir, { recursive: true, force: true });
});

test('an https source with an untrusted certificate fails with a certificate error', async () => {
  server.manager!.add('strict', `${origin}/clip.mp4`);
  const first = await waitFor('a status', () => events.find((e) => e.type === 'status' && e.stream === 'strict'), 30_000);
  assert.equal(first.type === 'status' && first.state, 'reconnecting', JSON.stringify(first));
  assert.match((first as { error?: string }).error ?? '', /^untrusted certificate: .*certificate/);
  assert.match(server.streams.get('strict')?.error ?? '', /untrusted certificate/);
  server.manager!.remove('strict');
});

test('with ?tls_verify=false the same source is captioned', async () => {
  server.manager!.add('optout', `${origin}/clip.mp4?tls_verify=false`);
  const caption = await waitFor('a caption', () => events.find((e) => e.type === 'caption' && e.stream === 'optout'), 30_000);
  assert.ok(caption.type === 'caption' && caption.text.length > 0);
  // The option is livecap's, not the camera's: shown in the stream's URL, not sent to the server.
  assert.equal(server.streams.get('optout')?.url, `${origin}/clip.mp4?tls_verify=false`);
  server.manager!.remove('optout');
});

test('a certificate from a trusted authority is accepted, for its own host name only', async () => {
  const trusting = await startTestServer({ supervisor: { caFile: join(dir, 'trusted.pem'), backoffInitialMs: 5000, backoffMaxMs: 5000 } });
  try {
    trusting.server.manager!.add('trusted', `${origin}/clip.mp4`);
    trusting.server.manager!.add('misnamed', `https://127.0.0.1:${(misnamed.address() as AddressInfo).port}/clip.mp4`);
    await waitFor('a caption', () => trusting.events.find((e) => e.type === 'caption' && e.stream === 'trusted'), 30_000);
    const first = await waitFor('a status', () => trusting.events.find((e) => e.type === 'status' && e.stream === 'misnamed'), 30_000);
    assert.equal(first.type === 'status' && first.state, 'reconnecting', JSON.stringify(first));
    assert.match((first as { error?: string }).error ?? '', /^untrusted certificate: .*does not match hostname/);
  } finally {
    await trusting.close();
  }
});

test('an rtsps camera is checked the same way: refused when untrusted, reached with ?tls_verify=false', async () => {
  // An RTSPS server on loopback with the self-signed certificate, recording the requests it
  // reads through TLS. (The perl RTSP camera serves RTP over UDP only, and ffmpeg speaks RTSPS
  // over TCP only, so this test stops at the first request.)
  const requests: string[] = [];
  const front: TlsServer = createTlsServer({ key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) }, (tls) => {
    tls.on('data', (chunk: Buffer) => {
      requests.push(chunk.toString('latin1').split('\r\n')[0]!);
      tls.end('RTSP/1.0 503 Service Unavailable\r\nCSeq: 1\r\n\r\n');
    });
    tls.on('error', () => tls.destroy());
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const url = `rtsps://127.0.0.1:${(front.address() as AddressInfo).port}/cam`;
  try {
    server.manager!.add('rtsps-strict', url);
    const first = await waitFor('a status', () => events.find((e) => e.type === 'status' && e.stream === 'rtsps-strict'), 30_000);
    assert.equal(first.type === 'status' && first.state, 'reconnecting', JSON.stringify(first));
    assert.match((first as { error?: string }).error ?? '', /^untrusted certificate: .*self-signed.*tls_verify=false/);
    server.manager!.remove('rtsps-strict');
    assert.deepEqual(requests, [], 'no request is sent to an untrusted server');
    server.manager!.add('rtsps-optout', `${url}?tls_verify=false`);
    await waitFor('a request through TLS', () => requests.length > 0, 30_000);
    assert.match(requests[0]!, /^OPTIONS rtsps:\/\/127\.0\.0\.1:\d+\/cam RTSP\/1\.0$/);
    server.manager!.remove('rtsps-optout');
  } finally {
    await new Promise((resolve) => front.close(resolve));
  }
});
