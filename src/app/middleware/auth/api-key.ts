import type { Context } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { createMiddleware, type TypedMiddleware } from '../create-middleware.ts';
import { accessRule, authError, challenge, MAX_CREDENTIALS, timingSafeEqual } from './shared.ts';

/** Options of `apiKey()`: where the key is (a header by default) and how it is checked. */
export interface ApiKeyOptions<U> {
  /** The request header that carries the key (default `x-api-key`). */
  header?: string;
  /**
   * A query parameter instead of a header. Query strings end up in access logs, proxies' logs
   * and browser history: prefer a header.
   */
  query?: string;
  /** Returns the user (the key's owner), or `undefined`/`null`/`false` for an unknown key (401). */
  verify?: (key: string, c: Context) => U | undefined | null | false | Promise<U | undefined | null | false>;
  /** Or a fixed list of accepted keys, compared in constant time; the user is `{ key: index }`. */
  keys?: readonly string[];
  /** The `realm` of the challenge. */
  realm?: string;
}

/**
 * API keys from a header (or a query parameter), checked by `verify` or against `keys` (every key
 * compared, in constant time). Missing or wrong: 401 with `WWW-Authenticate: ApiKey`.
 *
 * @example
 * app.use('/internal', apiKey({ keys: [process.env.INTERNAL_KEY!] }));
 */
export function apiKey<U = { key: number }>(options: ApiKeyOptions<U>): TypedMiddleware<{ user: U }> {
  if (options === null || typeof options !== 'object') throw AppError.authConfig('apiKey()', 'pass options');
  const { query, realm } = options;
  if (options.header !== undefined && query !== undefined)
    throw AppError.authConfig('apiKey()', 'give header or query, not both');
  const header = (options.header ?? 'x-api-key').toLowerCase();
  let verify = options.verify;
  const keys = options.keys;
  if ((verify === undefined) === (keys === undefined))
    throw AppError.authConfig('apiKey()', 'give exactly one of verify or keys');
  if (keys !== undefined) {
    if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== 'string' || k.length < 16))
      throw AppError.authConfig(
        'apiKey()',
        'keys must be a non-empty list of keys of at least 16 characters',
      );
    const list = [...keys];
    verify = async (key: string) => {
      let found = -1;
      // Every key is compared, so the time says nothing about which one matched, or whether any did.
      for (let i = 0; i < list.length; i++)
        if ((await timingSafeEqual(key, list[i]!)) && found === -1) found = i;
      return found === -1 ? undefined : ({ key: found } as U);
    };
  } else if (typeof verify !== 'function') throw AppError.authConfig('apiKey()', 'verify must be a function');
  const check = verify!;
  const where = query !== undefined ? { in: 'query', name: query } : { in: 'header', name: header };
  const unauthorized = (message: string) =>
    authError(401, message, challenge('ApiKey', { realm, [where.in]: where.name }));
  return accessRule(
    createMiddleware<{ user: U }>(async (c, next) => {
      const key = query !== undefined ? c.query[query] : c.req.headers.get(header);
      if (typeof key !== 'string' || key === '') throw unauthorized('An API key is required');
      if (key.length > MAX_CREDENTIALS) throw unauthorized('The API key is not valid');
      const user = await check(key, c as Context);
      if (user === undefined || user === null || user === false)
        throw unauthorized('The API key is not valid');
      c.set('user', user);
      return next();
    }),
  );
}
