import type { Context } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { createMiddleware, type TypedMiddleware } from '../create-middleware.ts';
import {
  accessRule,
  authError,
  challenge,
  MAX_CREDENTIALS,
  parseAuthorization,
  timingSafeEqual,
} from './shared.ts';

/** Options of `basicAuth()`: `verify`, or a fixed `users` table. */
export interface BasicAuthOptions<U> {
  /**
   * Checks a user-id and password and returns the user, or `undefined`/`null`/`false` (401). With
   * stored hashes: `verify: async (name, password) => (await verifyPassword(password, db.hashOf(name))) ? db.user(name) : undefined`
   * (`verifyPassword` runs a dummy hash for an unknown name, so timing does not tell names apart).
   */
  verify?: (
    username: string,
    password: string,
    c: Context,
  ) => U | undefined | null | false | Promise<U | undefined | null | false>;
  /** Or a table of user-ids and passwords, compared in constant time; the user is `{ name }`. */
  users?: Readonly<Record<string, string>>;
  /** The protection space, shown by browsers (default `"Restricted"`). */
  realm?: string;
}

/** The user `basicAuth({ users })` sets. */
export interface BasicUser {
  name: string;
}

/**
 * The most bytes of decoded credentials read (a user-id and a password); longer ones are refused
 * before decoding.
 */
const MAX_BASIC = 4096;

/**
 * HTTP Basic authentication (RFC 7617): `Authorization: Basic base64(user-id:password)`, UTF-8.
 * Missing, malformed (bad base64, no colon, a control character, over 4 KiB) or wrong
 * credentials: 401 with `WWW-Authenticate: Basic realm="…", charset="UTF-8"`. Send it over TLS
 * only: the password travels in every request.
 *
 * @example
 * app.use('/admin', basicAuth({ users: { admin: process.env.ADMIN_PASSWORD! } }));
 */
export function basicAuth<U = BasicUser>(options: BasicAuthOptions<U>): TypedMiddleware<{ user: U }> {
  if (options === null || typeof options !== 'object')
    throw AppError.authConfig('basicAuth()', 'pass options');
  const realm = options.realm ?? 'Restricted';
  let verify = options.verify;
  const users = options.users;
  if ((verify === undefined) === (users === undefined))
    throw AppError.authConfig('basicAuth()', 'give exactly one of verify or users');
  if (users !== undefined) {
    const table = new Map<string, string>();
    for (const [name, password] of Object.entries(users)) {
      if (name === '' || name.includes(':') || typeof password !== 'string' || password === '')
        throw AppError.authConfig(
          'basicAuth()',
          `users: ${JSON.stringify(name)} needs a name without ":" and a password`,
        );
      table.set(name, password);
    }
    // Compared against when the name is unknown, so both paths do the same work.
    const dummy = crypto.randomUUID();
    verify = async (name: string, password: string) => {
      const expected = table.get(name);
      const ok = await timingSafeEqual(password, expected ?? dummy);
      return ok && expected !== undefined ? ({ name } as U) : undefined;
    };
  } else if (typeof verify !== 'function')
    throw AppError.authConfig('basicAuth()', 'verify must be a function');
  const check = verify!;
  const header = challenge('Basic', { realm, charset: 'UTF-8' });
  const unauthorized = (message: string) => authError(401, message, header);
  return accessRule(
    createMiddleware<{ user: U }>(async (c, next) => {
      const value = c.req.headers.get('authorization');
      const parsed = value === null ? null : parseAuthorization(value);
      if (parsed === null || parsed.scheme !== 'basic') throw unauthorized('Authentication required');
      const credentials = decodeBasic(parsed.credentials);
      if (credentials === null) throw unauthorized('The Basic credentials are malformed');
      const user = await check(credentials.username, credentials.password, c as Context);
      if (user === undefined || user === null || user === false)
        throw unauthorized('The user name or password is wrong');
      c.set('user', user);
      return next();
    }),
  );
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `base64(user-id ":" password)` (RFC 7617 §2): strict base64 (padded, no whitespace), valid
 * UTF-8, a colon, no control characters. `null` for anything else. Never throws.
 */
export function decodeBasic(text: string): { username: string; password: string } | null {
  if (text.length === 0 || text.length > Math.min(MAX_CREDENTIALS, Math.ceil(MAX_BASIC / 3) * 4)) return null;
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  let decoded: string;
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    decoded = utf8.decode(bytes);
  } catch {
    return null;
  }
  const colon = decoded.indexOf(':');
  if (colon === -1) return null;
  // RFC 7617 §2: the user-id and password contain no control characters.
  for (let i = 0; i < decoded.length; i++) {
    const code = decoded.charCodeAt(i);
    if (code < 32 || code === 127) return null;
  }
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
