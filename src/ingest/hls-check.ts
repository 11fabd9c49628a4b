/**
 * Reads an HLS source's playlists before ffmpeg does, for two things ffmpeg 5.x cannot be
 * told to bound:
 *
 * - A master playlist whose variants are master playlists again (itself, most often) makes
 *   the HLS demuxer add variants without end: thousands of requests a second and memory
 *   growing by hundreds of MB until a watchdog kills it, then again on every retry. Such a
 *   playlist is refused before ffmpeg starts, as are more than MAX_VARIANTS variants.
 * - A live playlist whose publisher died stops changing, and a restarted ffmpeg plays its last
 *   segments again as if they were new. `probeHttpSource` returns what the playlists list
 *   (media sequence and segments), so the supervisor can wait for that to change before it
 *   restarts a stalled HLS source.
 *
 * A response that is not a playlist is dropped after its headers; its content type still
 * tells the supervisor whether the stream is MJPEG (frames to be timed by arrival).
 *
 * What cannot be read here (an error status, a password scheme Node does not speak, a
 * network failure) is left to ffmpeg, which reports it as before.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFile } from 'node:fs/promises';
import { IngestError } from './ffmpeg-errors.js';
import { decodeSafe, redactUrl } from '../util/redact.js';

export const MAX_VARIANTS = 64;
const MAX_BYTES = 1 << 20;
const MAX_REDIRECTS = 5;

export interface HlsCheckOptions {
  timeoutMs: number;
  /** false: accept any certificate (the source's ?tls_verify=false). */
  tlsVerify?: boolean;
  caFile?: string;
}

interface Fetched {
  url: string;
  contentType: string;
  /** Undefined when the response is not a playlist (not read). */
  body?: string;
}

/** What the source's first response said: its content type, and for HLS what its playlists list. */
export interface HttpProbe {
  contentType?: string;
  /** Media sequence and segment URIs of the media playlists: the same text while the publisher is stopped. */
  listing?: string;
}

function open(url: URL, options: HlsCheckOptions, ca: Buffer | undefined): Promise<IncomingMessage> {
  const auth = url.username || url.password ? `${decodeSafe(url.username)}:${decodeSafe(url.password)}` : undefined;
  const target = { protocol: url.protocol, hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path: url.pathname + url.search, auth, timeout: options.timeoutMs };
  return new Promise((resolve, reject) => {
    const req = url.protocol === 'https:' ? httpsRequest({ ...target, ca, rejectUnauthorized: options.tlsVerify !== false }) : httpRequest(target);
    req.once('response', resolve);
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.once('error', reject);
    req.end();
  });
}

/**
 * GETs a URL (following a few redirects) and returns its text if it is a playlist, only its
 * content type for anything else, and undefined on any failure: that is ffmpeg's to report.
 */
async function fetchPlaylist(start: string, options: HlsCheckOptions, ca: Buffer | undefined): Promise<Fetched | undefined> {
  let url = new URL(start);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let res: IncomingMessage;
    try {
      res = await open(url, options, ca);
    } catch {
      return undefined;
    }
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.destroy();
      const next = new URL(res.headers.location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') return undefined;
      url = next;
      continue;
    }
    const contentType = String(res.headers['content-type'] ?? '');
    const looksLikePlaylist = /mpegurl/i.test(contentType) || /\.m3u8?$/i.test(url.pathname);
    if (status !== 200 || !looksLikePlaylist) {
      // Not a playlist (an MJPEG or TS stream, say): stop reading at once.
      res.destroy();
      return status === 200 ? { url: url.toString(), contentType } : undefined;
    }
    try {
      const chunks: Buffer[] = [];
      let bytes = 0;
      for await (const chunk of res as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > MAX_BYTES) {
          res.destroy();
          throw new IngestError('bad playlist', `the playlist is over ${MAX_BYTES >> 20} MiB`);
        }
        chunks.push(chunk);
      }
      return { url: url.toString(), contentType, body: Buffer.concat(chunks).toString('utf8') };
    } catch (err) {
      if (err instanceof IngestError) throw err;
      return undefined;
    }
  }
  return undefined;
}

/** The URIs a master playlist names as variants (and alternative renditions), resolved. */
export function variantUris(body: string, base: string): string[] {
  const uris: string[] = [];
  let expectUri = false;
  for (const raw of body.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-STREAM-INF')) expectUri = true;
    else if (line.startsWith('#EXT-X-MEDIA:')) {
      const uri = /URI="([^"]*)"/.exec(line)?.[1];
      if (uri) uris.push(uri);
    } else if (line && !line.startsWith('#') && expectUri) {
      uris.push(line);
      expectUri = false;
    }
  }
  return uris.map((u) => {
    try {
      return new URL(u, base).toString();
    } catch {
      return u;
    }
  });
}

const isMaster = (body: string) => /^#EXT-X-STREAM-INF/m.test(body);
const withoutHash = (url: string) => url.replace(/#.*$/, '');

/** What a media playlist lists: its media sequence and segment URIs; the same text while the publisher is stopped. */
function listing(body: string): string {
  return body
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => (l && !l.startsWith('#')) || l.startsWith('#EXT-X-MEDIA-SEQUENCE') || l.startsWith('#EXT-X-ENDLIST'))
    .join('\n');
}

/**
 * Reads the source at `url` once: its content type, and for an HLS playlist what its media
 * playlists list; undefined when nothing could be read. Throws an IngestError ('bad playlist')
 * for master playlists that nest or list too many variants.
 */
export async function probeHttpSource(url: string, options: HlsCheckOptions): Promise<HttpProbe | undefined> {
  const ca = options.caFile && options.tlsVerify !== false ? await readFile(options.caFile).catch(() => undefined) : undefined;
  const top = await fetchPlaylist(url, options, ca);
  if (!top) return undefined;
  if (top.body === undefined || !top.body.startsWith('#EXTM3U')) return { contentType: top.contentType };
  if (!isMaster(top.body)) return { contentType: top.contentType, listing: listing(top.body) };
  const variants = [...new Set(variantUris(top.body, top.url))];
  if (variants.length > MAX_VARIANTS) throw new IngestError('bad playlist', `the HLS master playlist lists ${variants.length} variants; at most ${MAX_VARIANTS} are read`);
  const listings: string[] = [];
  for (const variant of variants) {
    if (withoutHash(variant) === withoutHash(top.url) || withoutHash(variant) === withoutHash(url)) {
      throw new IngestError('bad playlist', 'the HLS master playlist lists itself as a variant; ffmpeg would request it without end');
    }
    const fetched = await fetchPlaylist(variant, options, ca);
    if (fetched?.body === undefined) continue;
    if (isMaster(fetched.body)) throw new IngestError('bad playlist', `the HLS variant ${redactUrl(variant)} is a master playlist again; ffmpeg would follow such nesting without end`);
    listings.push(listing(fetched.body));
  }
  return { contentType: top.contentType, listing: listings.join('\n--\n') };
}
