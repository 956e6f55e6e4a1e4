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
