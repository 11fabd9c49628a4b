import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { PROJECT_ROOT } from '../../src/paths.js';
import { waitFor } from '../helpers/processes.js';

// Every way of writing a password or token that once slipped past redaction, each with its own
// secret, sent through the real API of a real `livecap serve`; the secrets must not show in any
// answer, in any stream's error status, or in the server's log.
test('source secrets never show in API answers, stream errors or logs, whatever the URL form', async () => {
  const seen: string[] = [];
  // An HTTP server on loopback that asks for a password, then knows no file: every source
  // fails with 404, and ffmpeg's message about it quotes the URL.
  const http = createServer((req, res) => {
    seen.push(`${req.headers.authorization ?? ''} ${req.url}`);
    // ffmpeg sends a password only when asked for one.
    if (!req.headers.authorization && req.url?.includes('token=') === false) res.writeHead(401, { 'www-authenticate': 'Basic realm="cam"' }).end();
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const hp = `127.0.0.1:${(http.address() as AddressInfo).port}`;
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'livecap.js'), 'serve', '--port', '0', '--history', ':memory:', '--summarizer', 'none', '--source', 'bars=testsrc://smptebars'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LIVECAP_LOG: 'debug', LIVECAP_LOG_FORMAT: '' },
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  try {
    const url = await waitFor('serving line', () => /serving .* at (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1], 60_000);
    const forms: [string, string, number][] = [
      ['ws', `  http://u:Sec1ws@${hp}/a.m3u8`, 201],
      ['at', `http://u:p@Sec2at@${hp}/a.m3u8`, 201],
      ['bs', `http:\\\\u:Sec3bs@${hp}/a.m3u8`, 201],
      ['sl', `http:/u:Sec4sl@${hp}/a.m3u8`, 201],
      ['ns', `http:u:Sec5ns@${hp}/a.m3u8`, 201],
      ['qs', `http://${hp}/a.m3u8?token=Sec6qs&X-Amz-Signature=Sec7qs&q=1`, 201],
      ['bad', `http://u:Sec8bad@[${hp}/a.m3u8`, 400],
      ['nohost', `rtsp:/u:Sec9nh@${hp}/x`, 400],
    ];
    const answers: string[] = [];
    for (const [id, source, status] of forms) {
      const res = await fetch(`${url}/api/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, url: source }) });
      const body = await res.text();
      assert.equal(res.status, status, `${id}: ${body}`);
      answers.push(body);
    }
    const started = forms.filter(([, , status]) => status === 201).map(([id]) => id);
    // Each started source fails with a reason; wait until every one has said so.
    let list = '';
    for (const deadline = Date.now() + 40_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
      list = await (await fetch(`${url}/api/streams`)).text();
      const streams = (JSON.parse(list) as { streams: { id: string; error?: string }[] }).streams;
      if (started.every((id) => streams.find((s) => s.id === id)?.error?.includes('not found'))) break;
    }
    list = await (await fetch(`${url}/api/streams`)).text();
    const streams = (JSON.parse(list) as { streams: { id: string; url: string; error?: string }[] }).streams;
    for (const id of started) assert.match(streams.find((s) => s.id === id)?.error ?? '', /not found/, `${id} reports why it fails: ${list}`);
    assert.equal(streams.find((s) => s.id === 'qs')?.url, `http://${hp}/a.m3u8?token=***&X-Amz-Signature=***&q=1`);
    assert.equal(streams.find((s) => s.id === 'bs')?.url, `http://u:***@${hp}/a.m3u8`);
    // ffmpeg did get the credentials: redaction changes only what is shown.
    const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    for (const pass of ['Sec1ws', 'p@Sec2at', 'Sec3bs', 'Sec4sl', 'Sec5ns'])
      assert.ok(
        seen.some((s) => s.startsWith(basic('u', pass))),
        `ffmpeg sent ${pass}`,
      );
    assert.ok(seen.some((s) => s.includes('token=Sec6qs')));
    const everything = [...answers, list, out].join('\n');
    for (const secret of ['Sec1ws', 'Sec2at', 'Sec3bs', 'Sec4sl', 'Sec5ns', 'Sec6qs', 'Sec7qs', 'Sec8bad', 'Sec9nh']) {
      assert.ok(
        !everything.includes(secret),
        `${secret} leaked:\n${everything
          .split('\n')
          .filter((l) => l.includes(secret))
          .join('\n')}`,
      );
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await new Promise((resolve) => http.close(resolve));
  }
});
