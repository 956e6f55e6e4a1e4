/**
 * HTTP primitives shared by both doors (the server's node path and fast lane, the gateway's
 * adapters): one definition each of what was repeated across files.
 */

/** RFC 9110 §5.6.2 token (a field name, a method, a coding). */
export const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** RFC 9110 §5.6.2 tchar, as a lookup table over bytes (1 for a tchar). */
export const TCHAR: Uint8Array = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;

/** Whether `value` is a token. */
export function isToken(value: string): boolean {
  return TOKEN.test(value);
}

/**
 * The index in node's `rawHeaders` of the value of the first field named `lower` (a lowercase
 * name), or -1. Names are compared by length first, then as sent, then lowercased.
 */
export function rawHeaderIndex(raw: readonly string[], lower: string): number {
  const len = lower.length;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === len && (key === lower || key.toLowerCase() === lower)) return i + 1;
  }
  return -1;
}

/** The value of the first field named `lower` in `rawHeaders`, or undefined. */
export function rawHeader(raw: readonly string[], lower: string): string | undefined {
  const at = rawHeaderIndex(raw, lower);
  return at === -1 ? undefined : raw[at];
}

/** Every field named `lower`, joined as one list (`, `), or undefined (RFC 9110 §5.3). */
export function rawHeaderList(raw: readonly string[], lower: string): string | undefined {
  const len = lower.length;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === len && (key === lower || key.toLowerCase() === lower))
      value = value === undefined ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`;
  }
  return value;
}

/**
 * Whether a response to `method` with `status` has no body on the wire (RFC 9110 §9.3.2,
 * §15.2, §15.3.5, §15.4.5): HEAD, 1xx, 204 and 304.
 */
export function isBodilessResponse(method: string | undefined, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/** Whether `code` is optional whitespace: SP or HTAB (RFC 9110 §5.6.3). */
export function isOws(code: number): boolean {
  return code === 32 || code === 9;
}

/**
 * `value` without leading and trailing OWS (SP, HTAB; RFC 9110 §5.6.3). Not `String.trim()`,
 * which also drops vertical tabs, form feeds, NBSP (0xA0, which a latin1 header may carry) and
 * other Unicode spaces: a field value is compared as sent, so `chunked\xA0` is not `chunked`.
 */
export function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/**
 * The elements of a list-based field value (RFC 9110 §5.6.1): split at commas, each OWS-trimmed.
 * Empty elements are kept (`a,,b` → `['a', '', 'b']`), so that a caller can refuse them where a
 * rule must (Transfer-Encoding) or skip them where the RFC says a recipient may.
 */
export function listElements(value: string): string[] {
  const parts = value.split(',');
  for (let i = 0; i < parts.length; i++) parts[i] = trimOws(parts[i]!);
  return parts;
}

/**
 * Where the path of `url` starts: 0 for an origin-form target (`/a?b`), the index after the
 * authority for an absolute URL (`http://host/a`), or -1 when an absolute URL has no path
 * (`http://host`, `http://host?q`).
 */
export function pathStart(url: string): number {
  if (url.charCodeAt(0) === 47) return 0;
  const scheme = url.indexOf('://');
  if (scheme === -1) return url.length === 0 ? -1 : 0;
  // Native scans (on the hot path of every request): the first "/" after the authority, unless
  // a "?" or "#" comes first (then that "/" is in the query or the fragment).
  const authority = scheme + 3;
  const slash = url.indexOf('/', authority);
  if (slash === -1) return -1;
  const query = url.indexOf('?', authority);
  if (query !== -1 && query < slash) return -1;
  const hash = url.indexOf('#', authority);
  return hash !== -1 && hash < slash ? -1 : slash;
}

/**
 * Where the path of a serialized absolute URL starts (`request.url`: WHATWG's serialization, whose
 * authority holds no `/`, `?` or `#`, and whose path is never empty for http/https): the
 * per-request fast form of `pathStart`, two native scans.
 */
export function serializedPathStart(url: string): number {
  return url.indexOf('/', url.indexOf('//') + 2);
}

/** Where the query (its `?`) of `url` starts at or after `from`, or -1 (a `#` ends the search). */
export function queryStart(url: string, from = 0): number {
  const query = url.indexOf('?', from);
  if (query === -1) return -1;
  const hash = url.indexOf('#', from);
  return hash !== -1 && hash < query ? -1 : query;
}

/**
 * The path of a request target or an absolute URL, as sent (not decoded): no scheme, authority,
 * query or fragment; `/` when the URL has none. `http://a/b?c#d` → `/b`; `/b?c` → `/b`.
 */
export function pathOf(url: string): string {
  const start = pathStart(url);
  if (start === -1) return '/';
  // Two native scans (static files read this per request): 2–3× faster than a loop over the chars.
  let end = url.indexOf('?', start);
  const hash = url.indexOf('#', start);
  if (hash !== -1 && (end === -1 || hash < end)) end = hash;
  if (end === -1) return start === 0 ? url : url.slice(start);
  return url.slice(start, end);
}

/**
 * The query of a request target or an absolute URL with its `?` (`/a?b=1#f` → `?b=1`), or `''`:
 * what a redirect to another path of the same request keeps.
 */
export function searchOf(url: string): string {
  const start = queryStart(url, Math.max(0, pathStart(url)));
  if (start === -1) return '';
  const hash = url.indexOf('#', start);
  return hash === -1 ? url.slice(start) : url.slice(start, hash);
}

/** Whether `status` is an HTTP error status: an integer from 400 to 599 (RFC 9110 §15.5, §15.6). */
export function isErrorStatus(status: unknown): status is number {
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599;
}

// What an incoming request id may be: 1–128 visible ASCII characters (RFC 5234 VCHAR) other than
// the quote and the backslash, so that it can be logged (JSON, logfmt) and echoed without
// escaping. nginx's `$request_id` (32 hex digits), UUIDs and ULIDs pass; CR, LF, spaces,
// non-ASCII and 10 KB ids do not.
const REQUEST_ID = /^[!#-[\]-~]{1,128}$/;

/**
 * Whether an incoming request id (`X-Request-Id`) may be taken as is: the one rule of the
 * server's access log and the app's `requestId()` middleware.
 */
export function isWellFormedRequestId(id: string): boolean {
  return id.length <= 128 && REQUEST_ID.test(id);
}
