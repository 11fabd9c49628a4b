/**
 * The ffmpeg command line for a source: a pure function, table-tested.
 *
 * Every network input gets a read timeout and a protocol whitelist; output is raw RGB24 at
 * the analysis size and sampling rate on stdout, one frame after another.
 */
import { existsSync } from 'node:fs';
import type { Source } from './source.js';

export interface OutputSpec {
  width: number;
  height: number;
  /** Frames per second kept for analysis. */
  fps: number;
}

export interface ArgOptions {
  /** Network read timeout in milliseconds. */
  readTimeoutMs: number;
  /** Trusted certificate authorities (PEM) for TLS sources; without one, the TLS library's own default. */
  caFile?: string;
  /**
   * HTTP only: time frames by their arrival, for streams that carry no timestamps (MJPEG).
   * Without it, the URL decides (see looksLikeMjpeg).
   */
  arrivalTimestamps?: boolean;
}

/** Where distributions keep the system's trusted certificate authorities. */
const CA_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

export const INGEST_DEFAULTS: Readonly<ArgOptions> = { readTimeoutMs: 10_000, caFile: CA_BUNDLES.find((f) => existsSync(f)) };

/**
 * ffmpeg accepts any certificate unless told otherwise. For HTTP this checks the connection
 * to the URL itself (chain and host name); ffmpeg 5.x does not hand these options on to the
 * connections the HLS demuxer opens by itself (segments, variant playlists), and has no
 * way to pass them to RTSPS, which supervised-source.ts checks before each connect.
 */
function tlsArgs(source: Source, options: ArgOptions): string[] {
  // ffmpeg refuses options that nothing used: a plain http:// URL opens no TLS layer.
  if (source.tlsVerify === false || !source.input.startsWith('https:')) return [];
  return ['-tls_verify', '1', ...(options.caFile ? ['-ca_file', options.caFile] : [])];
}

/**
 * The demuxers a local file may be opened with: self-contained containers and raw streams.
 * Left out on purpose are those that open other files by name (hls, concat, image2 patterns,
 * dash manifests), so a playlist renamed clip.mp4 in the media folder cannot reach outside it.
 */
export const MEDIA_DEMUXERS = 'mov,matroska,mpegts,mpeg,avi,flv,asf,ogg,nut,ivf,h264,hevc,mjpeg,m4v,mpegvideo,yuv4mpegpipe,gif';

/** An HTTP URL that names an MJPEG stream by the usual conventions (.mjpg, mjpeg, action=stream). */
export function looksLikeMjpeg(input: string): boolean {
  try {
    const url = new URL(input);
    return /mjpe?g/i.test(url.pathname) || /[?&]action=stream\b/i.test(url.search);
  } catch {
    return false;
  }
}

/** The arguments that open a source (before -i and with it), whitelists and timeouts included. */
export function inputArgs(source: Source, options: ArgOptions): string[] {
  const micros = String(Math.round(options.readTimeoutMs * 1000));
  switch (source.kind) {
    case 'rtsp':
      return [
        '-rtsp_transport',
        source.transport ?? 'tcp',
        '-timeout',
        micros,
        '-protocol_whitelist',
        source.input.startsWith('rtsps:') ? 'rtsp,rtsps,rtp,srtp,udp,tcp,tls' : 'rtsp,rtp,udp,tcp',
        '-i',
        source.input,
      ];
    case 'http':
      return [
        // MJPEG carries no timestamps: ffmpeg would invent 25 fps and the fps filter would
        // sample the wrong frames. Other streams (HLS, TS, files) keep their own: they may
        // arrive in bursts, which arrival times would squash.
        ...((options.arrivalTimestamps ?? looksLikeMjpeg(source.input)) ? ['-use_wallclock_as_timestamps', '1'] : []),
        '-rw_timeout',
        micros,
        '-protocol_whitelist',
        'http,https,tcp,tls,crypto,hls,httpproxy',
        ...tlsArgs(source, options),
        '-i',
        source.input,
      ];
    case 'webcam':
      return ['-f', 'v4l2', '-i', source.input];
    case 'file':
      return [
        ...(source.realtime === false ? [] : ['-re']),
        ...(source.loop === false ? [] : ['-stream_loop', '-1']),
        '-protocol_whitelist',
        'file',
        '-format_whitelist',
        MEDIA_DEMUXERS,
        '-i',
        source.input,
      ];
    case 'testsrc':
      return ['-re', '-f', 'lavfi', '-i', `${source.pattern}=size=640x480:rate=25`];
  }
}

/** ffmpeg opening the source as ffmpegArgs does, to describe its streams (on stderr) and stop. */
export function probeArgs(source: Source, options: ArgOptions = INGEST_DEFAULTS): string[] {
  return ['-hide_banner', '-nostdin', ...inputArgs(source, options), '-t', '0', '-f', 'null', '-'];
}

export function ffmpegArgs(source: Source, output: OutputSpec, options: ArgOptions = INGEST_DEFAULTS): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    ...inputArgs(source, options),
    '-an',
    '-sn',
    '-dn',
    '-vf',
    `fps=${output.fps},scale=${output.width}:${output.height}:flags=area,format=rgb24`,
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ];
}
