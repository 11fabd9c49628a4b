/**
 * What other websites may do with a livecap server, in one place: a page on another origin
 * must not start or stop streams, watch the live captions over /ws, or reach a server bound
 * to loopback through DNS rebinding; dashboards on origins the operator names may read.
 *
 *   Host       bound to a loopback address (or given --allowed-host names), only localhost,
 *              127.0.0.1, [::1], the bound address and those names are answered (403
 *              otherwise): a rebound DNS name makes a page same-origin with the server, so
 *              only the Host tells it apart
 *   Origin     state-changing requests and /ws need no Origin (curl, scripts), the server's
 *              own, or a --cors-origin one (403 otherwise)
 *   JSON       state-changing requests with a body must say Content-Type: application/json
 *              (415 otherwise), so a page cannot send one without a CORS preflight
 *   CORS       read routes (GET /api/*: streams, history, subtitles, SSE, search) answer
 *              --cors-origin origins; nothing else is granted to another origin
 *   headers    every answer carries a strict CSP (the viewer needs only its own files, data:
 *              images and its own WebSocket), nosniff, no framing and no referrer
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';

export interface CrossSiteOptions {
  /** The address the server listens on: Host names are checked when it is a loopback one. */
  host: string;
  /** Further names the server is reached by (a reverse proxy's); given any, Host is checked on any address. */
  allowedHosts?: readonly string[];
  /** Origins (scheme://host[:port]) that may read and open /ws, besides the server's own. */
  corsOrigins?: readonly string[];
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** Whether a listen address only takes connections from this machine. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The host name of a Host header or an --allowed-host value (lower case, IPv6 in brackets), or undefined if it is not one. */
export function hostName(value: string): string | undefined {
  if (!/^[A-Za-z0-9.\-_:[\]]+$/.test(value)) return undefined;
  try {
    return new URL(`http://${value}`).hostname;
  } catch {
    return undefined;
  }
}

/** The origin of an allowed-origin setting, or undefined if it is not a plain http(s) origin. */
export function originOf(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (!['http:', 'https:'].includes(url.protocol) || url.username || url.password || url.search || url.hash || !['', '/'].includes(url.pathname)) return undefined;
    return value.replace(/\/$/, '').toLowerCase() === url.origin ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

export class CrossSite {
  private readonly hosts: Set<string> | undefined;
  private readonly extraHosts: Set<string>;
  private readonly origins: Set<string>;

  constructor(options: CrossSiteOptions) {
    this.extraHosts = new Set((options.allowedHosts ?? []).map((h) => hostName(h) ?? h.toLowerCase()));
    this.hosts =
      isLoopback(options.host) || this.extraHosts.size > 0
        ? new Set([...LOOPBACK_NAMES, hostName(options.host) ?? options.host, ...this.extraHosts].filter((h) => !['0.0.0.0', '::', '[::]'].includes(h)))
        : undefined;
    this.origins = new Set((options.corsOrigins ?? []).map((o) => originOf(o) ?? o));
  }

  /** Why a request to this Host header is refused, or undefined when it is answered. */
  hostProblem(host: string | undefined): string | undefined {
    if (!this.hosts || host === undefined) return undefined;
    const name = hostName(host);
    if (name && this.hosts.has(name)) return undefined;
    return `this server does not answer for host '${host.slice(0, 100)}'; start it with --allowed-host NAME to add a name`;
  }

  /** Whether a request from `origin` (the Origin header) to `host` (the Host header) may change state or open /ws. */
  originAllowed(origin: string | undefined, host: string | undefined): boolean {
    if (origin === undefined) return true;
    if (this.origins.has(origin.toLowerCase())) return true;
    try {
      const url = new URL(origin);
      if (!['http:', 'https:'].includes(url.protocol)) return false;
      if (this.extraHosts.has(url.hostname)) return true;
      if (host === undefined || !hostName(host)) return false;
      // Same host and port, a port left out being the scheme's default (Host: x:443 and https://x).
      const own = new URL(`${url.protocol}//${host}`);
      return own.hostname === url.hostname && own.port === url.port;
    } catch {
      return false; // 'null' (a sandboxed frame, a file) and anything unparsable
    }
  }

  /** Whether `origin` is one the operator allowed to read (CORS). */
  corsAllowed(origin: string): boolean {
    return this.origins.has(origin.toLowerCase());
  }

  /** Host check and security headers, for every request. */
  everyRequest(): MiddlewareHandler {
    return async (c, next) => {
      const problem = this.hostProblem(c.req.header('host'));
      const headers = Object.entries(securityHeaders(problem ? undefined : c.req.header('host')));
      // Set before (for the error answer of the throw below) and after (for a Response a route built itself).
      for (const [k, v] of headers) c.header(k, v);
      if (problem) throw new HTTPException(403, { message: problem });
      await next();
      for (const [k, v] of headers) c.res.headers.set(k, v);
    };
  }

  /** Origin and JSON checks, for requests that change state. */
  writes(): MiddlewareHandler {
    return async (c, next) => {
      const origin = c.req.header('origin');
      if (!this.originAllowed(origin, c.req.header('host'))) throw new HTTPException(403, { message: `requests from the origin '${origin!.slice(0, 200)}' may not change anything here` });
      const type = c.req.header('content-type');
      if (c.req.method !== 'DELETE' && !isJson(type)) {
        throw new HTTPException(415, { message: `send the request body as JSON with Content-Type: application/json (got ${type === undefined ? 'no Content-Type' : `'${type.slice(0, 100)}'`})` });
      }
      await next();
    };
  }

  /** CORS for read routes: the configured origins may GET; preflights grant nothing more. */
  reads(): MiddlewareHandler {
    return cors({
      origin: (origin) => (this.corsAllowed(origin) ? origin : null),
      allowMethods: ['GET', 'HEAD'],
      allowHeaders: ['Authorization', 'Last-Event-ID'],
      maxAge: 600,
    });
  }
}

function isJson(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/**
 * The headers on every answer. The viewer loads only its own script and stylesheet, shows
 * keyframes from this server (and pictures as data: URLs) and talks to its own WebSocket; `connect-src` names ws: and wss:
 * of the same host because older browsers do not count them as 'self'.
 */
export function securityHeaders(host: string | undefined): Record<string, string> {
  const sameHost = host !== undefined && hostName(host) ? ` ws://${host} wss://${host}` : '';
  return {
    'content-security-policy': `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self'${sameHost}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
  };
}
