import type { Context } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { createMiddleware, type TypedMiddleware } from '../create-middleware.ts';
import { accessRule, authError, challenge, isToken68, parseAuthorization } from './shared.ts';

/** Options of `bearer()`. */
export interface BearerOptions<U> {
  /**
   * Looks the token up (a session store, an introspection endpoint) and returns the user, or
   * `undefined`/`null`/`false` for a token that is unknown, expired or revoked (401). Compare
   * secrets you hold with `timingSafeEqual()`, not `===`.
   */
  verify: (token: string, c: Context) => U | undefined | null | false | Promise<U | undefined | null | false>;
  /** The `realm` of the challenge. */
  realm?: string;
  /** Requests without a token go on unauthenticated; a bad token is still 401. */
  optional?: boolean;
}

/**
 * Opaque bearer tokens (RFC 6750): the token from `Authorization: Bearer`, checked by `verify`,
 * the user in `c.get('user')`. No token: 401 `WWW-Authenticate: Bearer`; a rejected one: 401 with
 * `error="invalid_token"`; a malformed header: 400 with `error="invalid_request"`.
 *
 * @example
 * app.use('/api', bearer({ verify: (token) => sessions.get(token) }));
 */
export function bearer<U>(options: BearerOptions<U>): TypedMiddleware<{ user: U }> {
  if (options === null || typeof options !== 'object' || typeof options.verify !== 'function')
    throw AppError.authConfig('bearer()', 'pass { verify(token, c) }');
  const { verify, realm } = options;
  const optional = options.optional === true;
  const middleware = createMiddleware<{ user: U }>(async (c, next) => {
    const header = c.req.headers.get('authorization');
    const parsed = header === null ? null : parseAuthorization(header);
    if (parsed === null || parsed.scheme !== 'bearer') {
      if (optional) return next();
      throw authError(401, 'Authentication required', challenge('Bearer', { realm }));
    }
    if (!isToken68(parsed.credentials)) {
      throw authError(
        400,
        'The Authorization header is malformed',
        challenge('Bearer', { realm, error: 'invalid_request', error_description: 'Malformed bearer token' }),
      );
    }
    const user = await verify(parsed.credentials, c as Context);
    if (user === undefined || user === null || user === false) {
      throw authError(
        401,
        'The token is invalid',
        challenge('Bearer', { realm, error: 'invalid_token', error_description: 'The token is invalid' }),
      );
    }
    c.set('user', user);
    return next();
  });
  return optional ? middleware : accessRule(middleware);
}
