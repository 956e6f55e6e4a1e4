import type { Context } from '../context.ts';
import { HttpError } from '../http-error.ts';
import { parseMediaType } from '../media-type.ts';
import { randomToken } from '../session/seal.ts';
import type { Inputs, Middleware, Variables } from '../types.ts';
import type { Session } from './session.ts';

/** Options of `csrf()`. */
export interface CsrfOptions {
  /** Other origins allowed to send unsafe requests (`https://admin.example.com`). Never `null`. */
  origins?: string[];
  /** Let `Sec-Fetch-Site: same-site` through (a sibling subdomain). Default false. */
  allowSameSite?: boolean;
  /**
   * The check for clients that send neither `Sec-Fetch-Site` nor `Origin` (old browsers, and
   * non-browser clients, which are not CSRF's victims but cannot be told apart):
   * `double-submit` (default) a random token in a signed cookie that the request repeats,
   * `session` a token kept in the session (`session()` must run first), `false` lets such
   * requests through (an API whose clients are all programs).
   */
  token?: 'double-submit' | 'session' | false;
  /** Request header that carries the token. Default `x-csrf-token`. */
  header?: string;
  /** Form field (urlencoded bodies) that carries the token. Default `_csrf`. */
  field?: string;
  /** The double-submit cookie: default name `csrf` (`__Host-csrf` when Secure), Secure by default. */
  cookie?: { name?: string; secure?: boolean | 'auto' };
}

/** Defaults of `csrf()`; docs/app.md shows the same. */
export const CSRF_DEFAULTS = {
  header: 'x-csrf-token',
  field: '_csrf',
  cookie: 'csrf',
  token: 'double-submit',
  /** Longest urlencoded body read for the token field. */
  formBytes: 65_536,
} as const;

const SESSION_KEY = '_csrf';
const TOKEN_BYTES = 32;

interface Config {
  mode: 'double-submit' | 'session' | false;
  cookieName: string;
  secure: boolean | 'auto';
}

interface TokenState {
  config: Config;
  token: string | undefined;
}

// The token of each request, made on demand (no cookie for requests that render no form).
const states = new WeakMap<Context, TokenState>();

/** RFC 9110 §9.2.1: safe methods change nothing and are never refused. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

function refuse(why: string): never {
  throw new HttpError(403, `Cross-site request refused: ${why}`, { extensions: { reason: 'csrf' } });
}

/** Constant-time comparison of two tokens (no early exit on the first differing character). */
function sameToken(a: string, b: string): boolean {
  if (a.length !== b.length || a.length === 0) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Protection against cross-site request forgery for unsafe methods (POST, PUT, PATCH, DELETE…),
 * in the order browsers make possible: Fetch Metadata first (`Sec-Fetch-Site: same-origin` or
 * `none` passes, `cross-site` is refused, `same-site` only with `allowSameSite`), then `Origin`
 * (the request's own origin or one of `origins`; `null` is refused), and only for requests with
 * neither header a token (`csrfToken(c)` in forms, or the `x-csrf-token` header). A refusal is
 * a 403 problem+json. Safe methods are never refused.
 *
 * @example
 * app.use(csrf({ origins: ['https://admin.example.com'] }));
 * app.get('/form', (c) => c.html(`<form method="post"><input type="hidden" name="_csrf" value="${csrfToken(c)}"></form>`));
 */
export function csrf(options: CsrfOptions = {}): Middleware {
  const trusted = new Set(options.origins ?? []);
  if (trusted.has('null')) throw new TypeError('csrf({ origins }) cannot trust the opaque origin null');
  const allowSameSite = options.allowSameSite === true;
  const header = (options.header ?? CSRF_DEFAULTS.header).toLowerCase();
  const field = options.field ?? CSRF_DEFAULTS.field;
  const config: Config = {
    mode: options.token ?? CSRF_DEFAULTS.token,
    cookieName: options.cookie?.name ?? CSRF_DEFAULTS.cookie,
    secure: options.cookie?.secure ?? true,
  };

  const originAllowed = (origin: string, c: Context): boolean => {
    if (trusted.has(origin)) return true;
    const url = new URL(c.req.url);
    if (origin === url.origin) return true;
    // Behind a TLS-terminating proxy the request URL may say http while the page was https.
    return c.info.secure && origin === `https://${url.host}`;
  };

  const tokenOf = async (c: Context): Promise<string | undefined> => {
    const fromHeader = c.req.headers.get(header);
    if (fromHeader !== null) return fromHeader;
    const type = parseMediaType(c.req.headers.get('content-type'));
    if (type?.essence !== 'application/x-www-form-urlencoded' || c.req.body === null) return undefined;
    const text = await readCapped(c.req.clone(), CSRF_DEFAULTS.formBytes);
    return text === undefined ? undefined : (new URLSearchParams(text).get(field) ?? undefined);
  };

  return async (c, next) => {
    const ctx = c as Context;
    if (config.mode !== false) states.set(ctx, { config, token: undefined });
    if (SAFE.has(c.req.method)) return next();
    const site = c.req.headers.get('sec-fetch-site');
    const origin = c.req.headers.get('origin');
    if (site !== null) {
      // Fetch Metadata (W3C §2.1): set by the browser, not by page script.
      if (site === 'same-origin' || site === 'none') return next();
      if (origin !== null && origin !== 'null' && trusted.has(origin)) return next();
      if (site === 'same-site' && allowSameSite) return next();
      refuse(`Sec-Fetch-Site is ${site}`);
    }
    if (origin !== null) {
      // RFC 6454 §7.3: `null` is a sandboxed document, a file: page or a privacy-sensitive redirect.
      if (origin === 'null') refuse('the Origin is null');
      if (originAllowed(origin, ctx)) return next();
      refuse(`the Origin ${JSON.stringify(origin)} is not this site's`);
    }
    if (config.mode === false) return next();
    const expected = currentToken(ctx, config);
    const given = await tokenOf(ctx);
    if (expected === undefined || given === undefined || !sameToken(given, expected))
      refuse('no Origin, no Sec-Fetch-Site and no valid CSRF token');
    return next();
  };
}

function cookieName(c: Context, config: Config): { name: string; secure: boolean } {
  const secure = config.secure === 'auto' ? c.info.secure : config.secure;
  const base = config.cookieName;
  return { name: secure && !base.startsWith('__') ? `__Host-${base}` : base, secure };
}

/** The token the request carries a proof of (its cookie or its session), if any. */
function currentToken(c: Context, config: Config): string | undefined {
  if (config.mode === 'session') {
    const s = (c as Context<string, { session?: Session }>).get('session');
    if (s === undefined) throw new TypeError('csrf({ token: "session" }) needs session() before it');
    const value = s.get(SESSION_KEY);
    return typeof value === 'string' ? value : undefined;
  }
  // The cookie is signed with the app's cookie secrets: a sibling subdomain that can plant
  // cookies cannot make one that verifies (OWASP "signed double-submit cookie").
  return c.signedCookie(cookieName(c, config).name);
}

/**
 * The CSRF token for this request, to put in a form's hidden `_csrf` field or send as the
 * `x-csrf-token` header; made (and its cookie or session entry saved) on first use. `undefined`
 * when `csrf()` did not run for this request or runs with `token: false`.
 *
 * @example
 * app.get('/profile', (c) => c.html(`<form method="post"><input type="hidden" name="_csrf" value="${csrfToken(c)}">…</form>`));
 */
export function csrfToken<P extends string, V extends Variables, I extends Inputs>(
  c: Context<P, V, I>,
): string | undefined {
  const ctx = c as Context;
  const state = states.get(ctx);
  if (state === undefined) return undefined;
  if (state.token !== undefined) return state.token;
  const config = state.config;
  let token = currentToken(ctx, config);
  if (token === undefined) {
    token = randomToken(TOKEN_BYTES);
    if (config.mode === 'session') {
      (ctx as Context<string, { session: Session }>).get('session').set(SESSION_KEY, token);
    } else {
      const { name, secure } = cookieName(ctx, config);
      ctx.setCookie(name, token, { signed: true, secure, sameSite: 'Lax', httpOnly: true });
    }
  }
  state.token = token;
  return token;
}

/** The body as text if it is at most `limit` bytes, else undefined (never buffers more). */
async function readCapped(req: Request, limit: number): Promise<string | undefined> {
  const body = req.body;
  if (body === null) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let o = 0;
  for (const chunk of chunks) {
    all.set(chunk, o);
    o += chunk.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(all);
  } catch {
    return undefined;
  }
}
