/**
 * How a source URL is read, and what of it may be shown. Both come from one parsed form: the
 * text is trimmed and parsed once with the WHATWG URL parser, ffmpeg gets that URL's
 * serialization, and every copy shown to people (API answers, logs, errors) is rebuilt from
 * the same parse with the password, a lone user name (often a token) and secret-looking query
 * values replaced by `***`. Redacting the raw text instead misses the forms the parser
 * normalizes (`http:\\u:p@h`, `http:/u:p@h`, `http:u:p@h`, leading blanks, a raw `@` in a
 * password), which ffmpeg is then given with the credentials intact.
 *
 * Text that does not parse is never echoed: callers name the problem instead. Free text that
 * quotes URLs (ffmpeg's messages) cannot be parsed: `redactText` hides what looks like
 * credentials and secret query values in it.
 */

/** The scheme at the start of a URL text, lower-cased; undefined for a plain path. */
export function schemeOf(text: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
}

/** Schemes whose URLs name a host and may carry credentials. */
const NETWORK_SCHEMES = new Set(['rtsp', 'rtsps', 'http', 'https', 'redis', 'rediss', 'mqtt', 'mqtts']);

/** Schemes livecap accepts (sources, a cluster's Redis, an MQTT broker); others are shown only as their scheme. */
const KNOWN_SCHEMES = new Set([...NETWORK_SCHEMES, 'file', 'v4l2', 'testsrc']);

/** Query parameter names (or name parts split at `_`, `-`, `.`) whose values are secrets. */
const SECRET_PARTS = new Set([
  'token',
  'key',
  'apikey',
  'accesskey',
  'secretkey',
  'pass',
  'passwd',
  'password',
  'pwd',
  'secret',
  'auth',
  'authorization',
  'signature',
  'sig',
  'credential',
  'credentials',
  'session',
  'sessionid',
  'sid',
  'jwt',
  'policy',
  'hdnts',
  'hdnea',
  'code',
]);

/** Whether a query parameter of this name carries a secret: `token`, `api_key`, `X-Amz-Signature`, `Key-Pair-Id`… */
export function isSecretParam(name: string): boolean {
  const lower = name.toLowerCase();
  return SECRET_PARTS.has(lower) || lower.split(/[_.-]/).some((part) => SECRET_PARTS.has(part));
}

/** The query string with secret values replaced by `***`, every other byte as it was. */
export function redactQuery(search: string): string {
  if (search === '' || search === '?') return search;
  const parts = search
    .replace(/^\?/, '')
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return eq >= 0 && isSecretParam(decodeSafe(name.replace(/\+/g, ' '))) ? `${name}=***` : pair;
    });
  return `?${parts.join('&')}`;
}

export function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A URL text as livecap reads it: trimmed, then parsed; undefined when the parser refuses it. */
export function readUrl(text: string): URL | undefined {
  try {
    return new URL(text.trim());
  } catch {
    return undefined;
  }
}

/**
 * Text that is not a URL of its own (a path, or `NAME=URL` that failed to parse) with every
 * `…@` run hidden and secret query values replaced: it may embed a URL in any form.
 */
export function redactLoose(text: string): string {
  return redactParams(text.replace(/[^\s/\\@]*@/g, '***@'));
}

/** Secret `name=value` query pairs anywhere in a text, values replaced by `***`. */
function redactParams(text: string): string {
  return text.replace(/([?&;])([^=&;\s#?'"]+)=([^&;\s#'"]*)/g, (all, sep: string, name: string) => (isSecretParam(name) ? `${sep}${name}=***` : all));
}

/**
 * The URL as it may be shown: from the same parse that ffmpeg's input comes from, with
 * credentials and secret query values replaced. An unparsable URL is not shown at all.
 *
 *   redactUrl(' rtsp://admin:s3cret@cam/live')  → 'rtsp://admin:***@cam/live'
 *   redactUrl('http:\\u:pw@cam/x?token=abc&q=1') → 'http://u:***@cam/x?token=***&q=1'
 */
export function redactUrl(url: string): string {
  const text = typeof url === 'string' ? url.trim() : '';
  const scheme = schemeOf(text);
  if (!scheme) return redactLoose(text);
  if (!KNOWN_SCHEMES.has(scheme)) return `${scheme}:***`;
  const parsed = readUrl(text);
  if (!parsed) return `(a ${scheme}: URL that cannot be parsed)`;
  let auth = '';
  // The user name stays percent-encoded: decoded, it could carry a line break into a log.
  if (parsed.password) auth = `${parsed.username}:***@`;
  else if (parsed.username) auth = '***@';
  // Without a host, what looks like credentials sits in the path (`rtsp:/u:p@cam`).
  const path = parsed.host || !NETWORK_SCHEMES.has(scheme) ? parsed.pathname : redactLoose(parsed.pathname);
  const slashes = parsed.host || text.slice(scheme.length + 1).startsWith('//') || parsed.protocol === 'file:' ? '//' : '';
  return `${parsed.protocol}${slashes}${auth}${parsed.host}${path}${redactQuery(parsed.search)}${parsed.hash}`;
}

/**
 * The secret strings of a URL (password, a lone user name, secret query values), raw and
 * decoded, longest first: what to scrub from text that may quote the URL in any form.
 */
export function urlSecrets(url: string): string[] {
  const parsed = readUrl(url);
  if (!parsed) return [];
  const secrets = new Set<string>();
  const add = (value: string) => {
    for (const v of [value, decodeSafe(value)]) if (v.length >= 3) secrets.add(v);
  };
  if (parsed.password) add(parsed.password);
  else if (parsed.username) add(parsed.username);
  for (const pair of parsed.search.replace(/^\?/, '').split('&')) {
    const eq = pair.indexOf('=');
    if (eq >= 0 && isSecretParam(decodeSafe(pair.slice(0, eq)))) add(pair.slice(eq + 1));
  }
  return [...secrets].sort((a, b) => b.length - a.length);
}

/** The text with every given secret replaced by `***`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

/** Free text that quotes URLs (ffmpeg's messages): the credentials of every `scheme://…@` and secret query values hidden. */
export function redactText(text: string): string {
  return redactParams(text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/gi, '$1***@'));
}
