/**
 * Optional access tokens with two roles:
 *   viewer  read: stream list, history, subtitles, search, events, metrics, the WebSocket
 *   admin   everything a viewer may, and add and remove streams
 * With no tokens configured the server is open (the default on 127.0.0.1). With only admin
 * tokens, reading stays open and changing streams needs an admin token. With viewer tokens,
 * everything but /healthz and the viewer page's own files needs a token; with viewer tokens
 * and no admin token, streams can be changed only on the command line.
 *
 * A token comes as `Authorization: Bearer TOKEN`, or `?token=TOKEN` where a header cannot be
 * set (a browser's WebSocket and EventSource). Tokens are compared in constant time (SHA-256
 * of both sides, then timingSafeEqual), every configured token checked each time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type Role = 'viewer' | 'admin';

export interface AuthConfig {
  viewerTokens?: readonly string[];
  adminTokens?: readonly string[];
}

/** WebSocket close code for a connection without a valid token (HTTP's 401, in the 4000 range). */
export const CLOSE_UNAUTHORIZED = 4401;

const digest = (s: string) => createHash('sha256').update(s).digest();

export class Auth {
  private readonly viewers: Buffer[];
  private readonly admins: Buffer[];

  constructor(config: AuthConfig = {}) {
    this.viewers = (config.viewerTokens ?? []).map(digest);
    this.admins = (config.adminTokens ?? []).map(digest);
  }

  get enabled(): boolean {
    return this.viewers.length + this.admins.length > 0;
  }

  /** The role a token grants, if any. */
  roleOf(token: string | undefined): Role | undefined {
    if (!token) return undefined;
    const d = digest(token);
    // No early exit: the time taken does not depend on which token matched.
    let admin = false;
    let viewer = false;
    for (const a of this.admins) admin = timingSafeEqual(a, d) || admin;
    for (const v of this.viewers) viewer = timingSafeEqual(v, d) || viewer;
    return admin ? 'admin' : viewer ? 'viewer' : undefined;
  }

  /**
   * Whether a request holding `token` may do what needs `role`: 'ok', or the HTTP status to
   * answer (401 no valid token, 403 a viewer token where admin is needed).
   */
  check(token: string | undefined, role: Role): 'ok' | 401 | 403 {
    if (!this.enabled) return 'ok';
    if (role === 'viewer' && this.viewers.length === 0) return 'ok';
    const has = this.roleOf(token);
    if (has === 'admin' || has === role) return 'ok';
    return has === undefined ? 401 : 403;
  }
}

/** The token of a request: the Bearer header first, else the `token` query parameter. */
export function requestToken(authorization: string | undefined | null, url: string): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (bearer) return bearer[1];
  return new URL(url, 'http://x').searchParams.get('token') ?? undefined;
}

/** Tokens from a comma-separated environment variable. */
export function tokensFromEnv(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}
