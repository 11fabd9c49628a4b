/**
 * Source descriptions: what a user may point livecap at, parsed and checked before any
 * process starts. Each kind allows only the protocols it needs, and a local file is accepted
 * only under the configured media folder, so a stream URL cannot read arbitrary files.
 *
 * The media folder confines by real paths: the folder and the file are both resolved
 * (symbolic links followed) and the file must still lie inside, and ffmpeg is given the
 * resolved path, so a link swapped in later changes nothing. Inputs that name other files
 * (HLS playlists, ffconcat and other lists) are refused by name here, and ffmpeg may open a
 * local file only with demuxers of self-contained containers (MEDIA_DEMUXERS in
 * ffmpeg-args.ts), so a playlist disguised as clip.mp4 cannot reach /etc or ../outside either:
 * the name check gives a clear answer, the demuxer list is what holds.
 *
 *   rtsp://[user:pass@]host[:port]/path        network camera (TCP; ?transport=udp for UDP)
 *   http(s)://host/path(.m3u8)                 HTTP streams, HLS included
 *   (https and rtsps certificates are verified; ?tls_verify=false opts one source out)
 *   /dev/videoN  or  v4l2:///dev/videoN        webcam through video4linux2
 *   file:///path or a plain path               a local file played at real speed as if live (looped;
 *                                              ?loop=false plays it once)
 *   testsrc://PATTERN                          ffmpeg test patterns: testsrc, testsrc2, smptebars, …
 */
import { realpathSync } from 'node:fs';
import { extname, isAbsolute, relative, resolve } from 'node:path';
import { decodeSafe, readUrl, redactUrl, schemeOf } from '../util/redact.js';

export type SourceKind = 'rtsp' | 'http' | 'webcam' | 'file' | 'testsrc';

export const TEST_PATTERNS = ['testsrc', 'testsrc2', 'smptebars', 'smptehdbars', 'rgbtestsrc', 'mandelbrot', 'life', 'cellauto'] as const;

export interface Source {
  kind: SourceKind;
  /** What ffmpeg opens: the URL, device or path. */
  input: string;
  /** RTSP only. */
  transport?: 'tcp' | 'udp';
  /**
   * HTTP(S) and RTSP(S): check the server's TLS certificate and host name (default true).
   * `?tls_verify=false` turns it off for one source, e.g. a camera with a self-signed
   * certificate; the parameter is taken out of the URL ffmpeg opens.
   */
  tlsVerify?: boolean;
  /** Files only: start again at the end (default true). */
  loop?: boolean;
  /** Files only: read at the clip's own speed, as if live (default true); false reads as fast as possible. */
  realtime?: boolean;
  /** testsrc only. */
  pattern?: (typeof TEST_PATTERNS)[number];
}

export interface SourceRules {
  /** Local files must lie under this folder; without it, file sources are refused. */
  mediaDir?: string;
}

/** A rejected source: the message says what is wrong, without echoing credentials. */
export class SourceError extends Error {
  override name = 'SourceError';
}

/** The URL with credentials and secret query values replaced, safe for logs, API answers and pages. */

export function parseSource(url: string, rules: SourceRules = {}): Source {
  if (typeof url !== 'string' || url.trim() === '') throw new SourceError('source url is empty');
  const text = url.trim();
  if (/[\0\r\n]/.test(text)) throw new SourceError('source url contains control characters');
  if (text.startsWith('/dev/')) return webcam(text);
  const scheme = schemeOf(text);
  if (!scheme) return file(text, rules);
  const parsed = readUrl(text);
  // The text is not echoed: a URL the parser refuses may hold a password in any place.
  if (!parsed)
    throw new SourceError(`source url is not a valid URL (${scheme}: with a part the URL parser refuses); check the host and port, and percent-encode spaces, '%' and '@' in a user name or password`);
  switch (scheme) {
    case 'rtsp':
    case 'rtsps': {
      if (!parsed.hostname) throw new SourceError(`${scheme} url has no host; write it as ${scheme}://[user:password@]host[:port]/path`);
      const transport = takeParam(parsed, 'transport') ?? 'tcp';
      if (transport !== 'tcp' && transport !== 'udp') throw new SourceError(`rtsp transport must be tcp or udp, got '${transport}'`);
      const tlsVerify = tlsVerifyParam(parsed);
      return { kind: 'rtsp', input: parsed.toString(), transport, ...(tlsVerify === undefined ? {} : { tlsVerify }) };
    }
    case 'http':
    case 'https': {
      if (!parsed.hostname) throw new SourceError(`${scheme} url has no host; write it as ${scheme}://[user:password@]host[:port]/path`);
      const tlsVerify = tlsVerifyParam(parsed);
      return { kind: 'http', input: parsed.toString(), ...(tlsVerify === undefined ? {} : { tlsVerify }) };
    }
    case 'file':
      return file(decodeSafe(parsed.pathname), rules, parsed.searchParams.get('loop') !== 'false');
    case 'v4l2':
      return webcam(decodeSafe(parsed.pathname));
    case 'testsrc': {
      const pattern = (parsed.hostname || parsed.pathname.replace(/^\/+/, '')) as Source['pattern'];
      if (!TEST_PATTERNS.includes(pattern!)) throw new SourceError(`unknown test pattern '${pattern}'; one of ${TEST_PATTERNS.join(', ')}`);
      return { kind: 'testsrc', input: pattern!, pattern };
    }
    default:
      throw new SourceError(`unsupported source scheme '${scheme}:'; use rtsp://, http(s)://, file://, a /dev/video device or testsrc://`);
  }
}

/**
 * Takes a livecap option out of the URL's query and returns its value. Every other byte of the
 * query is kept as it was: re-serializing it could break a signed URL.
 */
function takeParam(url: URL, name: string): string | undefined {
  let value: string | undefined;
  const rest = url.search
    .replace(/^\?/, '')
    .split('&')
    .filter((pair) => {
      const eq = pair.indexOf('=');
      if (decodeSafe(eq < 0 ? pair : pair.slice(0, eq)) !== name) return true;
      value = eq < 0 ? '' : decodeSafe(pair.slice(eq + 1).replace(/\+/g, ' '));
      return false;
    });
  if (value !== undefined) url.search = rest.filter(Boolean).join('&');
  return value;
}

function tlsVerifyParam(url: URL): boolean | undefined {
  const value = takeParam(url, 'tls_verify');
  if (value === undefined) return undefined;
  if (/^(1|true|yes)$/i.test(value)) return true;
  if (/^(0|false|no)$/i.test(value)) return false;
  throw new SourceError(`tls_verify must be true or false, got '${value}'`);
}

function webcam(path: string): Source {
  if (!/^\/dev\/video\d+$/.test(path)) throw new SourceError(`webcam device must look like /dev/videoN, got '${redactUrl(path)}'`);
  return { kind: 'webcam', input: path };
}

/** Local inputs that list other files to open: refused, as they could name any file. */
const LIST_EXTENSIONS = new Set(['.m3u8', '.m3u', '.ffconcat', '.concat', '.txt', '.pls', '.sdp', '.xspf', '.cue', '.mpd', '.ism', '.isml']);

function file(path: string, rules: SourceRules, loop = true): Source {
  if (!rules.mediaDir) throw new SourceError(`'${redactUrl(path)}' is not a URL, and local files are not allowed as sources: no media folder is configured (start with --media-dir DIR)`);
  const root = resolve(rules.mediaDir);
  const full = resolve(root, path);
  const rel = relative(root, full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new SourceError(`'${redactUrl(path)}' is outside the media folder ${root}`);
  if (LIST_EXTENSIONS.has(extname(full).toLowerCase()))
    throw new SourceError(`'${redactUrl(path)}' is a playlist or list of files (${extname(full)}); only video files are played from the media folder, as a list could name files outside it`);
  let realRoot: string;
  let real: string;
  try {
    realRoot = realpathSync(root);
  } catch (err) {
    throw new SourceError(`the media folder ${root} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    real = realpathSync(full);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SourceError(
      code === 'ENOENT' ? `no file '${redactUrl(path)}' in the media folder ${root}` : `'${redactUrl(path)}' in the media folder cannot be read (${code ?? (err as Error).message})`,
    );
  }
  const realRel = relative(realRoot, real);
  if (realRel === '' || realRel.startsWith('..') || isAbsolute(realRel)) throw new SourceError(`'${redactUrl(path)}' leads outside the media folder ${root} (through a symbolic link)`);
  return { kind: 'file', input: real, loop };
}
