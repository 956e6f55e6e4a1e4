import { createHmac, timingSafeEqual } from 'node:crypto';
import { isToken } from '../gateway/http.ts';

/** Attributes of a Set-Cookie (RFC 6265 §4.1, plus SameSite, Partitioned and Priority). */
export interface CookieOptions {
  /** Seconds until the cookie expires (`Max-Age`); 0 or negative expires it now. */
  maxAge?: number;
  expires?: Date;
  domain?: string;
  /** Default `/`. */
  path?: string;
  /** Default false; forced on for `__Secure-` and `__Host-` names, and for `SameSite=None`. */
  secure?: boolean;
  /** Default true: scripts cannot read the cookie. */
  httpOnly?: boolean;
  /** Default `Lax`. */
  sameSite?: 'Strict' | 'Lax' | 'None';
  partitioned?: boolean;
  priority?: 'Low' | 'Medium' | 'High';
  /** Sign the value with the app's newest cookie secret (HMAC-SHA256). */
  signed?: boolean;
}

// RFC 9110 §5.6.2 token: what a cookie name may be.
// RFC 6265 §5.2.3 / §5.2.4: no control characters or ';' in Domain and Path.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses.
const ATTRIBUTE_VALUE = /^[^\u0000-\u001f\u007f;]*$/;

/** Serializes one Set-Cookie value, refusing names and attributes that could inject others. */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  if (!isToken(name))
    throw new TypeError(`Invalid cookie name ${JSON.stringify(name)}: use token characters only`);
  let out = `${name}=${encodeURIComponent(value)}`;
  const secure =
    options.secure === true ||
    name.startsWith('__Secure-') ||
    name.startsWith('__Host-') ||
    options.sameSite === 'None';
  if (options.maxAge !== undefined) {
    if (!Number.isFinite(options.maxAge))
      throw new TypeError('Cookie maxAge must be a finite number of seconds');
    out += `; Max-Age=${Math.floor(options.maxAge)}`;
  }
  if (options.expires !== undefined) out += `; Expires=${options.expires.toUTCString()}`;
  if (options.domain !== undefined) {
    // RFC 6265bis §4.1.3.2: a __Host- cookie must not name a Domain.
    if (name.startsWith('__Host-')) throw new TypeError('A __Host- cookie cannot have a Domain');
    if (!ATTRIBUTE_VALUE.test(options.domain)) throw new TypeError('Invalid cookie domain');
    out += `; Domain=${options.domain}`;
  }
  const path = options.path ?? '/';
  if (!ATTRIBUTE_VALUE.test(path)) throw new TypeError('Invalid cookie path');
  if (name.startsWith('__Host-') && path !== '/') throw new TypeError('A __Host- cookie must have Path=/');
  out += `; Path=${path}`;
  if (secure) out += '; Secure';
  if (options.httpOnly ?? true) out += '; HttpOnly';
  out += `; SameSite=${options.sameSite ?? 'Lax'}`;
  if (options.partitioned === true) out += '; Partitioned';
  if (options.priority !== undefined) out += `; Priority=${options.priority}`;
  return out;
}

function mac(secret: string, name: string, value: string): string {
  // The name is signed too: a signed value cannot be moved into another cookie.
  return createHmac('sha256', secret).update(`${name}=${value}`).digest('base64url');
}

/** `value.signature`, signed with the first (newest) secret. */
export function signCookieValue(name: string, value: string, secrets: readonly string[]): string {
  return `${value}.${mac(secrets[0]!, name, value)}`;
}

/** The value if any of the secrets signed it (key rotation), otherwise undefined. */
export function verifyCookieValue(
  name: string,
  signed: string,
  secrets: readonly string[],
): string | undefined {
  const dot = signed.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const value = signed.slice(0, dot);
  const given = Buffer.from(signed.slice(dot + 1));
  for (const secret of secrets) {
    const expected = Buffer.from(mac(secret, name, value));
    if (expected.length === given.length && timingSafeEqual(expected, given)) return value;
  }
  return undefined;
}
