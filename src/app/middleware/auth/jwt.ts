import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwksCache,
  jwtVerify,
} from 'jose';
import type { Context } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { HttpError } from '../../http-error.ts';
import { createMiddleware, type TypedMiddleware } from '../create-middleware.ts';
import {
  accessRule,
  authError,
  challenge,
  isToken68,
  MAX_CREDENTIALS,
  parseAuthorization,
} from './shared.ts';

export type { JWTPayload } from 'jose';

const HS = ['HS256', 'HS384', 'HS512'];
const RSA = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const EC = ['ES256', 'ES384', 'ES512'];
const OKP = ['EdDSA', 'Ed25519'];
const ASYMMETRIC = [...RSA, ...EC, ...OKP];

/** Where a JWKS comes from and how long its keys are trusted. */
export interface JwksOptions {
  /** The JWKS document (`https://issuer.example/.well-known/jwks.json`). */
  url: string | URL;
  /** A fetched set is used this long before it is fetched again (ms, default 600000: 10 minutes). */
  cacheMaxAge?: number;
  /**
   * A token with a `kid` the set does not have makes strata fetch the set again (key rotation),
   * but not more often than this (ms, default 30000).
   */
  cooldown?: number;
  /** The fetch is abandoned after this long (ms, default 5000). */
  timeout?: number;
  /**
   * When the JWKS server cannot be reached, the last set fetched keeps verifying tokens for this
   * long after it was fetched (ms, default 3600000: an hour); after that, requests get 503 until
   * the server answers. A key removed from the set stops verifying at the next successful fetch.
   */
  staleIfError?: number;
}

/** Options of `jwt()`: one of `secret`, `key` or `jwks`. */
export interface JwtOptions<C extends object = {}, U = JWTPayload & C> {
  /** An HMAC secret (HS256/384/512), at least 32 bytes. */
  secret?: string | Uint8Array;
  /** A public key (a `CryptoKey`, or a public JWK) or an HMAC `CryptoKey` / `oct` JWK. */
  key?: CryptoKey | JWK;
  /** Keys from a JWKS URL, cached and refreshed on rotation. */
  jwks?: JwksOptions;
  /**
   * The algorithms accepted (`alg`). Default: the key's own (`HS256` for a secret; for a
   * `CryptoKey` the one it was imported for; for a JWKS every asymmetric algorithm, each key
   * verifying only its own type). Never `none`; an HMAC algorithm never with a public key, nor an
   * asymmetric one with a secret.
   */
  algorithms?: string[];
  /** Accepted `iss` values; when set, a token without `iss` is refused. */
  issuer?: string | string[];
  /** Accepted `aud` values; when set, a token without `aud` is refused. */
  audience?: string | string[];
  /** Seconds of clock difference tolerated on `exp`, `nbf` and `iat` (default 0). */
  clockSkew?: number;
  /** The longest accepted age from `iat` (seconds or a span such as `'2h'`); requires `iat`. */
  maxAge?: number | string;
  /** A token without `exp` is refused (default true: such a token would be valid forever). */
  requireExp?: boolean;
  /** Expected `typ` header (such as `'at+jwt'`, RFC 9068). */
  typ?: string;
  /**
   * Also read the token from this cookie when there is no `Authorization` header. A cookie is
   * sent by the browser on cross-site requests: protect state-changing routes against CSRF
   * (`SameSite` cookies, a CSRF token).
   */
  cookie?: string;
  /** The `realm` of the challenge. */
  realm?: string;
  /** Requests without a token go on unauthenticated (`c.get('user')` undefined); a bad token is still 401. */
  optional?: boolean;
  /**
   * Maps the verified claims to the user (`c.get('user')`); returning `undefined` (a user that no
   * longer exists, say) answers 401. Default: the claims themselves.
   */
  user?: (claims: JWTPayload & C, c: Context) => U | undefined | null | Promise<U | undefined | null>;
}

/** The variables `jwt()` sets: the verified claims and the user. */
export interface JwtVariables<C extends object, U> {
  jwt: JWTPayload & C;
  user: U;
}

/** A token-verification failure that is the key source's fault, not the token's: 503. */
class KeysUnavailable extends Error {}

/**
 * JSON Web Token authentication (RFC 7519) on `jose`: the token from `Authorization: Bearer`
 * (or a cookie), its signature checked against an allowlist of algorithms tied to the key type,
 * and `exp`/`nbf`/`iss`/`aud` checked. The claims land in `c.get('jwt')`, the user in
 * `c.get('user')`. Missing token: 401 with `WWW-Authenticate: Bearer`; a bad one: 401 with
 * `error="invalid_token"`; a malformed header: 400 with `error="invalid_request"` (RFC 6750 §3).
 *
 * @example
 * app.use('/api', jwt({ jwks: { url: 'https://id.example.com/.well-known/jwks.json' }, issuer: 'https://id.example.com', audience: 'api' }));
 * app.get('/me', jwt({ secret: process.env.JWT_SECRET! }), (c) => c.json({ sub: c.get('jwt').sub }));
 */
export function jwt<C extends object = {}, U = JWTPayload & C>(
  options: JwtOptions<C, U>,
): TypedMiddleware<JwtVariables<C, U>> {
  const { getKey, algorithms } = keySource(options);
  const verifyOptions: JWTVerifyOptions = {
    algorithms,
    clockTolerance: options.clockSkew ?? 0,
    requiredClaims: options.requireExp === false ? [] : ['exp'],
  };
  if (options.issuer !== undefined) verifyOptions.issuer = options.issuer;
  if (options.audience !== undefined) verifyOptions.audience = options.audience;
  if (options.maxAge !== undefined) verifyOptions.maxTokenAge = options.maxAge;
  if (options.typ !== undefined) verifyOptions.typ = options.typ;
  if (typeof verifyOptions.clockTolerance !== 'number' || !(verifyOptions.clockTolerance >= 0))
    throw AppError.authConfig('jwt()', 'clockSkew is a number of seconds');
  const realm = options.realm;
  const cookie = options.cookie;
  const optional = options.optional === true;
  const mapUser = options.user;
  if (cookie !== undefined && (typeof cookie !== 'string' || cookie === ''))
    throw AppError.authConfig('jwt()', 'cookie must be a cookie name');
  const missing = challenge('Bearer', { realm });
  const fail = (description: string, cause?: unknown): HttpError =>
    new HttpError(401, description, {
      headers: {
        'www-authenticate': challenge('Bearer', {
          realm,
          error: 'invalid_token',
          error_description: description,
        }),
      },
      cause,
    });

  const middleware = createMiddleware<JwtVariables<C, U>>(async (c, next) => {
    let token: string | undefined;
    const header = c.req.headers.get('authorization');
    if (header !== null) {
      const parsed = parseAuthorization(header);
      if (parsed !== null && parsed.scheme === 'bearer') {
        if (!isToken68(parsed.credentials)) {
          throw authError(
            400,
            'The Authorization header is malformed',
            challenge('Bearer', {
              realm,
              error: 'invalid_request',
              error_description: 'Malformed bearer token',
            }),
          );
        }
        token = parsed.credentials;
      }
    }
    if (token === undefined && cookie !== undefined) {
      const value = c.cookie(cookie);
      if (value !== undefined && value !== '') {
        if (value.length > MAX_CREDENTIALS) throw fail('The token is malformed');
        token = value;
      }
    }
    if (token === undefined) {
      if (optional) return next();
      throw authError(401, 'Authentication required', missing);
    }
    let claims: JWTPayload;
    try {
      claims = (await jwtVerify(token, getKey, verifyOptions)).payload;
    } catch (err) {
      if (err instanceof KeysUnavailable) {
        throw new HttpError(503, 'The keys to verify the token cannot be fetched', {
          headers: { 'retry-after': '30' },
          cause: err.cause,
        });
      }
      throw fail(describe(err), err);
    }
    let user: U | undefined | null;
    if (mapUser !== undefined) {
      user = await mapUser(claims as JWTPayload & C, c as Context);
      if (user === undefined || user === null) throw fail('The token does not name a known user');
    } else user = claims as U;
    c.set('jwt', claims as JWTPayload & C);
    c.set('user', user);
    return next();
  });
  return optional ? middleware : accessRule(middleware);
}

/** What the 401's `error_description` says: the kind of failure, never the token's content. */
function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'The token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'The token is not valid yet';
    if (err.claim === 'iat') return 'The token is too old or issued in the future';
    return `The token's "${err.claim}" claim is not accepted`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return 'The token is signed with an algorithm that is not accepted';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'The token signature is invalid';
  if (err instanceof errors.JWKSNoMatchingKey) return 'The token is signed with an unknown key';
  return 'The token is invalid';
}

/** The key resolver and the algorithm allowlist, checked against each other. */
function keySource(options: Pick<JwtOptions, 'secret' | 'key' | 'jwks' | 'algorithms'>): {
  getKey: JWTVerifyGetKey;
  algorithms: string[];
} {
  if (options === null || typeof options !== 'object') throw AppError.authConfig('jwt()', 'pass options');
  const given = [options.secret, options.key, options.jwks].filter((k) => k !== undefined).length;
  if (given !== 1) throw AppError.authConfig('jwt()', 'give exactly one of secret, key or jwks');
  const requested = options.algorithms;
  if (requested !== undefined) {
    if (!Array.isArray(requested) || requested.length === 0)
      throw AppError.authConfig('jwt()', 'algorithms must be a non-empty array');
    for (const alg of requested) {
      if (typeof alg !== 'string' || alg.toLowerCase() === 'none')
        throw AppError.authConfig('jwt()', `algorithm ${String(alg)} is never accepted`);
    }
  }
  const pick = (family: string[], fallback: string[], what: string): string[] => {
    if (requested === undefined) return fallback;
    for (const alg of requested) {
      if (!family.includes(alg))
        throw AppError.authConfig(
          'jwt()',
          `algorithm ${alg} cannot be verified with ${what} (accepted: ${family.join(', ')})`,
        );
    }
    return [...requested];
  };

  if (options.secret !== undefined) {
    const secret = options.secret;
    const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
    if (!(bytes instanceof Uint8Array) || bytes.length < 32)
      throw AppError.authConfig('jwt()', 'an HMAC secret must be at least 32 bytes (256 bits)');
    if (typeof secret === 'string' && secret.includes('-----BEGIN'))
      throw AppError.authConfig(
        'jwt()',
        'the secret is a PEM key: pass a public key as key (a CryptoKey or a JWK), not as secret',
      );
    const copy = new Uint8Array(bytes);
    return { getKey: async () => copy, algorithms: pick(HS, ['HS256'], 'a secret') };
  }

  if (options.jwks !== undefined) {
    return { getKey: remoteKeys(options.jwks), algorithms: pick(ASYMMETRIC, ASYMMETRIC, 'a JWKS') };
  }

  const key = options.key;
  if (isCryptoKey(key)) {
    if (key.type === 'private')
      throw AppError.authConfig('jwt()', 'give the public key, not the private one');
    const own = algorithmOf(key);
    if (own.length === 0)
      throw AppError.authConfig('jwt()', `a ${key.algorithm.name} key cannot verify JWTs`);
    const family = own[0]!.startsWith('HS') ? HS : ASYMMETRIC;
    const algorithms = pick(own, own, `this ${key.type} ${key.algorithm.name} key`);
    if (!algorithms.every((a) => family.includes(a)))
      throw AppError.authConfig('jwt()', 'algorithm and key type differ');
    return { getKey: async () => key, algorithms };
  }
  if (key !== null && typeof key === 'object' && typeof (key as JWK).kty === 'string') {
    const jwk = { ...(key as JWK) };
    if (jwk.kty !== 'oct' && jwk.d !== undefined)
      throw AppError.authConfig('jwt()', 'give the public JWK, not the private one (it has "d")');
    let family: string[];
    let fallback: string[];
    if (jwk.kty === 'oct') {
      family = HS;
      fallback = ['HS256'];
      if (typeof jwk.k !== 'string' || jwk.k.length < 43)
        throw AppError.authConfig('jwt()', 'an oct JWK must hold at least 32 bytes');
    } else if (jwk.kty === 'RSA') {
      family = RSA;
      fallback = ['RS256'];
    } else if (jwk.kty === 'EC') {
      family = EC;
      fallback = jwk.crv === 'P-384' ? ['ES384'] : jwk.crv === 'P-521' ? ['ES512'] : ['ES256'];
    } else if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
      family = OKP;
      fallback = ['EdDSA', 'Ed25519'];
    } else throw AppError.authConfig('jwt()', `a JWK of type ${jwk.kty} cannot verify JWTs here`);
    if (typeof jwk.alg === 'string') {
      if (!family.includes(jwk.alg))
        throw AppError.authConfig('jwt()', `the JWK's alg ${jwk.alg} does not fit its type`);
      family = [jwk.alg];
      fallback = [jwk.alg];
    }
    const algorithms = pick(family, fallback, `a ${jwk.kty} JWK`);
    const imported = new Map<string, Promise<CryptoKey | Uint8Array>>();
    const getKey = (header: JWTHeaderParameters): Promise<CryptoKey | Uint8Array> => {
      const alg = header.alg;
      let k = imported.get(alg);
      if (k === undefined) {
        k = importJWK(jwk, alg);
        imported.set(alg, k);
      }
      return k;
    };
    return { getKey, algorithms };
  }
  throw AppError.authConfig('jwt()', 'key must be a CryptoKey or a JWK');
}

function isCryptoKey(value: unknown): value is CryptoKey {
  return typeof CryptoKey !== 'undefined' && value instanceof CryptoKey;
}

/** The JWS algorithms a web-crypto key was imported for. */
function algorithmOf(key: CryptoKey): string[] {
  const algorithm = key.algorithm as KeyAlgorithm & { hash?: { name: string }; namedCurve?: string };
  const bits = algorithm.hash?.name.replace('SHA-', '');
  switch (algorithm.name) {
    case 'HMAC':
      return [`HS${bits}`];
    case 'RSASSA-PKCS1-v1_5':
      return [`RS${bits}`];
    case 'RSA-PSS':
      return [`PS${bits}`];
    case 'ECDSA':
      return algorithm.namedCurve === 'P-256'
        ? ['ES256']
        : algorithm.namedCurve === 'P-384'
          ? ['ES384']
          : algorithm.namedCurve === 'P-521'
            ? ['ES512']
            : [];
    case 'Ed25519':
      return ['EdDSA', 'Ed25519'];
    default:
      return [];
  }
}

/**
 * A remote JWKS (jose's `createRemoteJWKSet`: cached, fetched again on an unknown `kid` at most
 * once per cooldown), with stale-if-error: while the server cannot be reached, the last set
 * fetched keeps verifying (for `staleIfError`), and the server is not asked again before the
 * cooldown, so an outage does not make every request wait for the fetch timeout.
 */
function remoteKeys(options: JwksOptions): JWTVerifyGetKey {
  let url: URL;
  try {
    url = new URL(String(options.url));
  } catch {
    throw AppError.authConfig('jwt()', `jwks.url is not a URL: ${String(options.url)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw AppError.authConfig('jwt()', 'jwks.url must be an https: (or http:) URL');
  const cacheMaxAge = duration(options.cacheMaxAge, 600_000, 'cacheMaxAge');
  const cooldown = duration(options.cooldown, 30_000, 'cooldown');
  const timeout = duration(options.timeout, 5_000, 'timeout');
  const staleIfError = Math.max(duration(options.staleIfError, 3_600_000, 'staleIfError'), cacheMaxAge);
  const cache: { uat?: number; jwks?: JSONWebKeySet } = {};
  const remote = createRemoteJWKSet(url, {
    cacheMaxAge,
    cooldownDuration: cooldown,
    timeoutDuration: Math.round(timeout),
    [jwksCache]: cache as Record<string, never>,
  });
  let failedAt = Number.NEGATIVE_INFINITY;
  let stale: { uat: number; set: ReturnType<typeof createLocalJWKSet> } | undefined;
  const lastGood = (): ReturnType<typeof createLocalJWKSet> | undefined => {
    const { uat, jwks } = cache;
    if (uat === undefined || jwks === undefined || Date.now() > uat + staleIfError) return undefined;
    if (stale?.uat !== uat) stale = { uat, set: createLocalJWKSet(jwks) };
    return stale.set;
  };
  return async (header, token) => {
    if (Date.now() - failedAt < cooldown) {
      const set = lastGood();
      if (set === undefined) throw new KeysUnavailable('the JWKS server failed a moment ago');
      return set(header, token);
    }
    try {
      return await remote(header, token);
    } catch (err) {
      if (!isSourceFailure(err)) throw err;
      failedAt = Date.now();
      const set = lastGood();
      if (set === undefined) throw new KeysUnavailable('the JWKS server cannot be reached', { cause: err });
      return set(header, token);
    }
  };
}

/** A failure to get the set (network, timeout, non-200, bad JSON, not a JWKS), not a token's fault. */
function isSourceFailure(err: unknown): boolean {
  if (!(err instanceof errors.JOSEError)) return true;
  return (
    err instanceof errors.JWKSTimeout ||
    err instanceof errors.JWKSInvalid ||
    err.constructor === errors.JOSEError
  );
}

function duration(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw AppError.authConfig('jwt()', `jwks.${name} must be a number of milliseconds`);
  return value;
}
