import { test, after } from 'node:test';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { parseSource, SourceError, type Source } from '../../src/ingest/source.js';
import { ffmpegArgs, MEDIA_DEMUXERS } from '../../src/ingest/ffmpeg-args.js';
import { FrameSplitter } from '../../src/ingest/frame-splitter.js';
import { classifyFfmpegFailure, IngestError } from '../../src/ingest/ffmpeg-errors.js';
import { redactUrl } from '../../src/util/redact.js';
import { redactText } from '../../src/util/redact.js';

const out = { width: 160, height: 120, fps: 5 };
// A real media folder: files are checked by their real paths.
const media = realpathSync(mkdtempSync(join(tmpdir(), 'livecap-args-')));
mkdirSync(join(media, 'clips'));
for (const name of ['clips/demo.mp4', 'a.mp4']) writeFileSync(join(media, name), '');
after(() => rmSync(media, { recursive: true, force: true }));
const rules = { mediaDir: media };

// [url, expected source, input arguments ffmpeg must get (in order)]
const table: [string, Source, string[]][] = [
  [
    'rtsp://cam.local:8554/live',
    { kind: 'rtsp', input: 'rtsp://cam.local:8554/live', transport: 'tcp' },
    ['-rtsp_transport', 'tcp', '-timeout', '10000000', '-protocol_whitelist', 'rtsp,rtp,udp,tcp', '-i', 'rtsp://cam.local:8554/live'],
  ],
  [
    'rtsp://u:p@cam/s?transport=udp',
    { kind: 'rtsp', input: 'rtsp://u:p@cam/s', transport: 'udp' },
    ['-rtsp_transport', 'udp', '-timeout', '10000000', '-protocol_whitelist', 'rtsp,rtp,udp,tcp', '-i', 'rtsp://u:p@cam/s'],
  ],
  [
    'https://example.org/live/index.m3u8',
    { kind: 'http', input: 'https://example.org/live/index.m3u8' },
    ['-rw_timeout', '10000000', '-protocol_whitelist', 'http,https,tcp,tls,crypto,hls,httpproxy', '-tls_verify', '1', '-ca_file', '/ca.pem', '-i', 'https://example.org/live/index.m3u8'],
  ],
  [
    'https://cam.local/x.mp4?tls_verify=false',
    { kind: 'http', input: 'https://cam.local/x.mp4', tlsVerify: false },
    ['-rw_timeout', '10000000', '-protocol_whitelist', 'http,https,tcp,tls,crypto,hls,httpproxy', '-i', 'https://cam.local/x.mp4'],
  ],
  // The rest of a signed query reaches ffmpeg byte for byte.
  [
    'https://cdn/x.m3u8?X-Amz-Signature=a%2Fb&tls_verify=0&b=c+d',
    { kind: 'http', input: 'https://cdn/x.m3u8?X-Amz-Signature=a%2Fb&b=c+d', tlsVerify: false },
    ['-protocol_whitelist', 'http,https,tcp,tls,crypto,hls,httpproxy', '-i', 'https://cdn/x.m3u8?X-Amz-Signature=a%2Fb&b=c+d'],
  ],
  [
    'http://cam.local/video.mjpg',
    { kind: 'http', input: 'http://cam.local/video.mjpg' },
    ['-use_wallclock_as_timestamps', '1', '-rw_timeout', '10000000', '-protocol_whitelist', 'http,https,tcp,tls,crypto,hls,httpproxy', '-i', 'http://cam.local/video.mjpg'],
  ],
  [
    'rtsps://cam/s?tls_verify=false&transport=tcp',
    { kind: 'rtsp', input: 'rtsps://cam/s', transport: 'tcp', tlsVerify: false },
    ['-rtsp_transport', 'tcp', '-timeout', '10000000', '-protocol_whitelist', 'rtsp,rtsps,rtp,srtp,udp,tcp,tls', '-i', 'rtsps://cam/s'],
  ],
  ['/dev/video0', { kind: 'webcam', input: '/dev/video0' }, ['-f', 'v4l2', '-i', '/dev/video0']],
  ['v4l2:///dev/video2', { kind: 'webcam', input: '/dev/video2' }, ['-f', 'v4l2', '-i', '/dev/video2']],
  [
    'clips/demo.mp4',
    { kind: 'file', input: `${media}/clips/demo.mp4`, loop: true },
    ['-re', '-stream_loop', '-1', '-protocol_whitelist', 'file', '-format_whitelist', MEDIA_DEMUXERS, '-i', `${media}/clips/demo.mp4`],
  ],
  [`file://${media}/a.mp4?loop=false`, { kind: 'file', input: `${media}/a.mp4`, loop: false }, ['-re', '-protocol_whitelist', 'file', '-format_whitelist', MEDIA_DEMUXERS, '-i', `${media}/a.mp4`]],
  ['testsrc://smptebars', { kind: 'testsrc', input: 'smptebars', pattern: 'smptebars' }, ['-re', '-f', 'lavfi', '-i', 'smptebars=size=640x480:rate=25']],
];

for (const [url, source, input] of table) {
  test(`source ${redactUrl(url)} → ffmpeg arguments`, () => {
    const parsed = parseSource(url, rules);
    assert.deepEqual(parsed, source);
    const args = ffmpegArgs(parsed, out, { readTimeoutMs: 10_000, caFile: '/ca.pem' });
    const i = args.indexOf(input[0]);
    assert.deepEqual(args.slice(i, i + input.length), input);
    assert.deepEqual(args.slice(-7), ['-vf', 'fps=5,scale=160:120:flags=area,format=rgb24', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
    assert.ok(args.includes('-nostdin'));
  });
}

const bad: [string, RegExp][] = [
  ['', /empty/],
  ['ftp://host/x', /unsupported source scheme 'ftp:'/],
  ['rtsp://', /not a valid URL|has no host/],
  ['rtsp://cam/x?transport=sctp', /transport must be tcp or udp/],
  ['/etc/passwd', /outside the media folder/],
  ['../../etc/passwd', /outside the media folder/],
  ['file:///etc/shadow', /outside the media folder/],
  ['/dev/sda', /webcam device must look like \/dev\/videoN/],
  ['testsrc://rm -rf', /not a valid URL|unknown test pattern/],
  ['testsrc://nullsrc', /unknown test pattern 'nullsrc'/],
  ['http://', /not a valid URL|has no host/],
  ['https://cam/x?tls_verify=maybe', /tls_verify must be true or false, got 'maybe'/],
  ['missing.mp4', /no file 'missing.mp4' in the media folder/],
  ['clips/list.m3u8', /is a playlist or list of files \(\.m3u8\)/],
  ['list.ffconcat', /is a playlist or list of files/],
  ['files.TXT', /is a playlist or list of files/],
];
for (const [url, message] of bad) {
  test(`source '${url}' is refused with a clear reason`, () => {
    assert.throws(
      () => parseSource(url, rules),
      (err: Error) => err instanceof SourceError && message.test(err.message),
    );
  });
}

test('HTTP frames are timed by arrival for MJPEG only: by its URL, or when the server says so', () => {
  const wallclock = (url: string, arrivalTimestamps?: boolean) => ffmpegArgs(parseSource(url), out, { readTimeoutMs: 10_000, arrivalTimestamps }).includes('-use_wallclock_as_timestamps');
  assert.equal(wallclock('http://cam.local/video.mjpg'), true);
  assert.equal(wallclock('http://cam.local/cgi-bin/mjpeg?resolution=640x480'), true);
  assert.equal(wallclock('http://cam.local/?action=stream'), true);
  assert.equal(wallclock('http://cdn.local/live/index.m3u8'), false);
  assert.equal(wallclock('http://cdn.local/live/stream'), false);
  assert.equal(wallclock('http://cam.local/live/stream', true), true);
  assert.equal(wallclock('http://cam.local/video.mjpg', false), false);
});

test('without a media folder no local file is accepted', () => {
  assert.throws(() => parseSource('demo.mp4'), /no media folder is configured/);
});

test('passwords never survive redaction', () => {
  assert.equal(redactUrl('rtsp://admin:s3cret@10.0.0.5/stream'), 'rtsp://admin:***@10.0.0.5/stream');
  // A user name without a password is often a token: hidden too.
  assert.equal(redactUrl('rtsp://token@cam/s'), 'rtsp://***@cam/s');
  assert.equal(redactUrl('http://cam/s'), 'http://cam/s');
  // A cluster's Redis: the password hidden, the host and port that failed shown.
  assert.equal(redactUrl('redis://user:s3cret@redis.lan:6380/2'), 'redis://user:***@redis.lan:6380/2');
  assert.equal(redactUrl('rediss://:s3cret@10.0.0.9:6379'), 'rediss://:***@10.0.0.9:6379');
  assert.equal(redactText('[rtsp @ 0x1] method DESCRIBE failed for rtsp://admin:s3cret@cam/x: 401'), '[rtsp @ 0x1] method DESCRIBE failed for rtsp://***@cam/x: 401');
  assert.throws(
    () => parseSource('ftp://admin:s3cret@host/x'),
    (err: Error) => !err.message.includes('s3cret'),
  );
});

test('failure details drop ffmpeg object prefixes and credentials', () => {
  const err = new IngestError('connection refused', '[tcp @ 0x5605a7a338c0] Connection to tcp://u:pw@127.0.0.1:9 failed: Connection refused');
  assert.equal(err.message, 'connection refused: Connection to tcp://***@127.0.0.1:9 failed: Connection refused');
});

test('ffmpeg failures are classified from stderr', () => {
  assert.equal(classifyFfmpegFailure('[tcp @ 0x55] Connection to tcp://127.0.0.1:9 failed: Connection refused'), 'connection refused');
  assert.equal(classifyFfmpegFailure('method DESCRIBE failed: 401 Unauthorized'), 'unauthorized');
  assert.equal(classifyFfmpegFailure('method DESCRIBE failed: 404 Not Found'), 'not found');
  assert.equal(classifyFfmpegFailure('notes.txt: Invalid data found when processing input'), 'not a video');
  assert.equal(classifyFfmpegFailure('[video4linux2,v4l2 @ 0x1] Cannot open video device /dev/video9: No such file or directory'), 'no such device');
  assert.equal(classifyFfmpegFailure('something else'), 'failed');
});

test('the frame splitter cuts exactly at frame boundaries whatever the chunking', () => {
  const frameBytes = 7;
  const stream = Uint8Array.from({ length: 7 * 5 + 3 }, (_, i) => i);
  for (const sizes of [[38], [1, 1, 1, 35], [7, 7, 7, 7, 7, 3], [3, 11, 2, 9, 13], [6, 8, 24]]) {
    const splitter = new FrameSplitter(frameBytes);
    const frames: Uint8Array[] = [];
    let offset = 0;
    for (const size of sizes) {
      frames.push(...splitter.push(stream.subarray(offset, offset + size)));
      offset += size;
    }
    assert.equal(frames.length, 5, `chunks ${sizes}`);
    frames.forEach((f, k) => assert.deepEqual([...f], [...stream.subarray(k * 7, k * 7 + 7)]));
    assert.equal(splitter.buffered, 3);
  }
});

test('frames cut from Buffer chunks are independent copies of exactly one frame', () => {
  const splitter = new FrameSplitter(4);
  const chunk = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const [a, b] = splitter.push(chunk);
  assert.equal(a.buffer.byteLength, 4);
  assert.equal(b.buffer.byteLength, 4);
  chunk.fill(0);
  assert.deepEqual([...a, ...b], [1, 2, 3, 4, 5, 6, 7, 8]);
});

// [what a user may type, how it is shown]: the secret is 'hunter2' in every form.
const disguised: [string, string][] = [
  ['  rtsp://admin:hunter2@cam/live', 'rtsp://admin:***@cam/live'],
  ['rtsp://admin:p@hunter2@cam/live', 'rtsp://admin:***@cam/live'],
  ['http:\\\\u:hunter2@cam/x.m3u8', 'http://u:***@cam/x.m3u8'],
  ['http:/u:hunter2@cam/x.m3u8', 'http://u:***@cam/x.m3u8'],
  ['http:u:hunter2@cam/x.m3u8', 'http://u:***@cam/x.m3u8'],
  ['\thttps://hunter2@cam/x.m3u8', 'https://***@cam/x.m3u8'],
  ['https://cdn/x.m3u8?q=1&token=hunter2', 'https://cdn/x.m3u8?q=1&token=***'],
  ['https://b.s3/x.mp4?X-Amz-Credential=hunter2&X-Amz-Signature=hunter2', 'https://b.s3/x.mp4?X-Amz-Credential=***&X-Amz-Signature=***'],
  ['https://cdn/x?api_key=hunter2&access_token=hunter2&sig=hunter2&pwd=hunter2', 'https://cdn/x?api_key=***&access_token=***&sig=***&pwd=***'],
  ['rtsp:/u:hunter2@cam/x', 'rtsp:/***@cam/x'],
  ['http://u:hunter2@[::1/x', '(a http: URL that cannot be parsed)'],
  ['//u:hunter2@cam/x', '//***@cam/x'],
  ['ftp://u:hunter2@host/x', 'ftp:***'],
  // A user name is shown as written: decoded, it could start a new line in a log.
  ['rtsp://ad%0Amin:hunter2@cam/x', 'rtsp://ad%0Amin:***@cam/x'],
  // Not a URL of its own, as `--source` shows a bad NAME=URL.
  ['bad name=http://u:hunter2@cam/x', 'bad name=http://***@cam/x'],
  ['x y=rtsp:/u:hunter2@cam?token=hunter2', 'x y=rtsp:/***@cam?token=***'],
];
for (const [url, shown] of disguised) {
  test(`the secret in ${JSON.stringify(url.replace('hunter2', 'SECRET'))} is hidden when shown and kept for ffmpeg`, () => {
    assert.equal(redactUrl(url), shown);
    let source: Source | undefined;
    try {
      source = parseSource(url, rules);
    } catch (err) {
      // Refused: the reason names the problem without the secret.
      assert.ok(err instanceof SourceError);
      assert.doesNotMatch(err.message, /hunter2/);
    }
    if (source?.kind === 'http' || source?.kind === 'rtsp') assert.match(decodeURIComponent(source.input), /hunter2/, 'ffmpeg gets the credentials');
  });
}

test('ffmpeg messages lose the source secrets wherever they are quoted', () => {
  const err = new IngestError('not found', 'http://u:p%40hunter2@127.0.0.1:1/x.m3u8?token=tok3n&q=1: Server returned 404 Not Found\nopening p@hunter2 and tok3n');
  // URLs are redacted by their shape; the bare secrets only by knowing them.
  assert.doesNotMatch(err.message, /u:p|token=tok3n/);
  assert.match(err.message, /opening p@hunter2 and tok3n/);
  const clean = err.withoutSecrets(['p@hunter2', 'p%40hunter2', 'tok3n']);
  assert.doesNotMatch(clean.message, /hunter2|tok3n/);
  assert.equal(clean.reason, 'not found');
  assert.match(clean.message, /^not found: http:\/\/\*\*\*@127\.0\.0\.1:1\/x\.m3u8\?token=\*\*\*&q=1: Server returned 404/);
});
