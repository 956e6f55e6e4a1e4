import { TCHAR, trimOws } from '../../../gateway/http.ts';
import { HttpError } from '../../http-error.ts';
import type { Middleware } from '../../types.ts';

/**
 * The mark of an access rule: a middleware that decides who may reach a route (an auth
 * middleware, a guard, `publicRoute()`). An app in `access: 'deny-by-default'` mode refuses to
 * register a route whose chain has none.
 */
const ACCESS_RULE = Symbol.for('strata.accessRule');

/**
 * Marks a middleware as an access rule, for `new App({ access: 'deny-by-default' })`: the
 * built-in auth middleware and guards are marked already; mark your own guard with this.
 */
export function accessRule<M extends (...args: never[]) => unknown>(middleware: M): M {
  Object.defineProperty(middleware, ACCESS_RULE, { value: true });
  return middleware;
}

/** Whether a middleware carries the access-rule mark. Never throws. */
export function isAccessRule(fn: unknown): boolean {
  try {
    return typeof fn === 'function' && Reflect.get(fn, ACCESS_RULE) === true;
  } catch {
    return false;
  }
}

/**
 * The explicit "anyone may call this" marker for an app in deny-by-default mode:
 * `app.get('/health', publicRoute(), h)`, or `app.use('/public', publicRoute())`.
 */
export function publicRoute(): Middleware<string, {}, {}> {
  return accessRule((_c: unknown, next: () => Promise<Response>) => next());
}

/** Longest credentials strata reads from `Authorization` (or a cookie, a key header). */
export const MAX_CREDENTIALS = 8192;

/**
 * `Authorization: <scheme> <credentials>` (RFC 9110 §11.6.2): the scheme lowercased and the
 * credentials as sent (one or more spaces between, surrounding whitespace ignored). `null` when
 * the header has no space after a valid scheme token. Never throws.
 */
export function parseAuthorization(value: string): { scheme: string; credentials: string } | null {
  const text = trimOws(value);
  let i = 0;
  while (i < text.length && TCHAR[text.charCodeAt(i)] === 1) i++;
  if (i === 0) return null;
  const scheme = text.slice(0, i).toLowerCase();
  if (i === text.length) return { scheme, credentials: '' };
  const sep = text.charCodeAt(i);
  if (sep !== 32 && sep !== 9) return null;
  let j = i;
  while (j < text.length && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j++;
  return { scheme, credentials: text.slice(j) };
}

/** RFC 6750 §2.1 b64token: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`. */
export function isToken68(text: string): boolean {
  return text.length > 0 && text.length <= MAX_CREDENTIALS && /^[A-Za-z0-9\-._~+/]+=*$/.test(text);
}

/**
 * An auth-param value as a quoted-string (RFC 9110 §5.6.4): `"` and `\` escaped, control
 * characters and non-ASCII dropped, so a realm or a description can never split the header.
 */
export function quote(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 32 || code > 126) continue;
    if (code === 34 || code === 92) out += '\\';
    out += value[i];
  }
  return `${out}"`;
}

/** A `WWW-Authenticate` challenge: `Scheme k="v", k2="v2"` (undefined values left out). */
export function challenge(scheme: string, params: Record<string, string | undefined>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params))
    if (value !== undefined) parts.push(`${key}=${quote(value)}`);
  return parts.length === 0 ? scheme : `${scheme} ${parts.join(', ')}`;
}

/**
 * The 401 (or 400/403) an auth middleware throws: an `HttpError`, so the app answers it as
 * problem+json, with the challenge in `WWW-Authenticate`.
 */
export function authError(status: 400 | 401 | 403, message: string, wwwAuthenticate: string): HttpError {
  return new HttpError(status, message, { headers: { 'www-authenticate': wwwAuthenticate } });
}

let hmacKey: Promise<CryptoKey> | undefined;

/** A per-process random HMAC key: what both sides of a comparison are hashed with. */
function compareKey(): Promise<CryptoKey> {
  hmacKey ??= crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]) as Promise<CryptoKey>;
  return hmacKey;
}

const encoder = new TextEncoder();

/**
 * Compares two secrets in time that says nothing about where they differ or how long the
 * expected one is: both are HMAC-SHA-256'd under a random per-process key and the 32-byte
 * digests compared without an early exit (the "double HMAC" pattern). Web crypto only, so it
 * runs on every runtime.
 */
export async function timingSafeEqual(a: string | Uint8Array, b: string | Uint8Array): Promise<boolean> {
  const key = await compareKey();
  const [da, db] = await Promise.all([
    crypto.subtle.sign(
      'HMAC',
      key,
      typeof a === 'string' ? encoder.encode(a) : (a as Uint8Array<ArrayBuffer>),
    ),
    crypto.subtle.sign(
      'HMAC',
      key,
      typeof b === 'string' ? encoder.encode(b) : (b as Uint8Array<ArrayBuffer>),
    ),
  ]);
  return equalBytes(new Uint8Array(da), new Uint8Array(db));
}

/** Constant-time equality of two byte arrays of the same length (false, at once, if they differ in length). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Reads a user's roles: `roles` (an array of strings) and `role` (a string). */
export function defaultRolesOf(user: unknown): readonly string[] {
  if (user === null || typeof user !== 'object') return [];
  const out: string[] = [];
  const roles = (user as { roles?: unknown }).roles;
  if (Array.isArray(roles)) for (const r of roles) if (typeof r === 'string') out.push(r);
  const role = (user as { role?: unknown }).role;
  if (typeof role === 'string') out.push(role);
  return out;
}
