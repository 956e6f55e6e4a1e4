import { aroundMiddleware } from '../compose.ts';
import type { Context } from '../context.ts';
import { toBase64url } from '../session/seal.ts';
import type { TypedMiddleware } from './create-middleware.ts';

/** Put in a CSP directive's sources: replaced by `'nonce-…'`, a fresh nonce per request (`c.get('cspNonce')`). */
export const NONCE = "'strata-nonce'";

/** CSP directives by name (`script-src` or `scriptSrc`); `false` drops a default one. */
export type CspDirectives = Record<string, readonly string[] | false>;

export interface ContentSecurityPolicyOptions {
  /** Directives merged over the defaults (unless `useDefaults: false`). */
  directives?: CspDirectives;
  /** Start from `CSP_DEFAULTS`. Default true. */
  useDefaults?: boolean;
  /** Send `Content-Security-Policy-Report-Only`: report violations, block nothing. */
  reportOnly?: boolean;
}

export interface StrictTransportSecurityOptions {
  /** Seconds. Default 31 536 000 (one year). */
  maxAge?: number;
  /** Default true. */
  includeSubDomains?: boolean;
  /** Default false: ask for it only once every subdomain serves https (hstspreload.org). */
  preload?: boolean;
  /**
   * Send it on plain-http responses too (browsers ignore it there, RFC 6797 §8.1; for a proxy
   * that terminates TLS but is not trusted to say so). Default false: only when `c.info.secure`.
   */
  always?: boolean;
}

/** Options of `secureHeaders()`: each header's value, or `false` to leave it out. */
export interface SecureHeadersOptions {
  contentSecurityPolicy?: ContentSecurityPolicyOptions | false;
  strictTransportSecurity?: StrictTransportSecurityOptions | false;
  /** Default `same-origin`. */
  crossOriginOpenerPolicy?:
    | 'same-origin'
    | 'same-origin-allow-popups'
    | 'noopener-allow-popups'
    | 'unsafe-none'
    | false;
  /** Default `same-origin`. */
  crossOriginResourcePolicy?: 'same-origin' | 'same-site' | 'cross-origin' | false;
  /** Default not sent (as helmet): `require-corp` breaks every cross-origin image without CORP. */
  crossOriginEmbedderPolicy?: 'require-corp' | 'credentialless' | 'unsafe-none' | false;
  /** Default `no-referrer`. */
  referrerPolicy?: string | false;
  /** `X-Content-Type-Options: nosniff`. Default true. */
  xContentTypeOptions?: boolean;
  /** Default `SAMEORIGIN` (CSP's `frame-ancestors` is the modern form; this covers old browsers). */
  xFrameOptions?: 'DENY' | 'SAMEORIGIN' | false;
  /** `Origin-Agent-Cluster: ?1`. Default true. */
  originAgentCluster?: boolean;
  /** Default `off`. */
  xDnsPrefetchControl?: 'on' | 'off' | false;
  /** Default `none`. */
  xPermittedCrossDomainPolicies?: 'none' | 'master-only' | 'by-content-type' | 'all' | false;
  /** `X-Download-Options: noopen` (old IE). Default true. */
  xDownloadOptions?: boolean;
  /** `X-XSS-Protection: 0`: the old XSS auditors did more harm than good. Default true. */
  xXssProtection?: boolean;
  /** Remove `X-Powered-By` from responses (a proxied one may carry it). Default true. */
  removePoweredBy?: boolean;
}

/** helmet's default policy, with a nonce for scripts. */
export const CSP_DEFAULTS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'font-src': ["'self'", 'https:', 'data:'],
  'form-action': ["'self'"],
  'frame-ancestors': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'", NONCE],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'", 'https:', "'unsafe-inline'"],
  // Only over https: on http://localhost it would send the page's subresources to https.
  'upgrade-insecure-requests': [],
});

const DIRECTIVE_NAME = /^[a-z-]+$/;
// CSP3 §2.2.1: a source expression may not hold `;` or `,`, which would start another directive.
const SOURCE = /^[^;,\r\n]*$/;

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`);
}

/** The policy text, and whether it needs a nonce. `secure` decides upgrade-insecure-requests. */
function buildPolicy(options: ContentSecurityPolicyOptions, secure: boolean): string {
  const merged: Record<string, readonly string[] | false> =
    options.useDefaults === false ? {} : { ...CSP_DEFAULTS };
  for (const [key, value] of Object.entries(options.directives ?? {})) merged[kebab(key)] = value;
  const parts: string[] = [];
  for (const [name, sources] of Object.entries(merged)) {
    if (sources === false) continue;
    if (!DIRECTIVE_NAME.test(name)) throw new TypeError(`Invalid CSP directive name ${JSON.stringify(name)}`);
    for (const s of sources)
      if (!SOURCE.test(s)) throw new TypeError(`Invalid CSP source ${JSON.stringify(s)} in ${name}`);
    if (name === 'upgrade-insecure-requests' && !secure) continue;
    parts.push(sources.length === 0 ? name : `${name} ${sources.join(' ')}`);
  }
  return parts.join('; ');
}

// Nonces: 128 bits each (CSP3 §6.1.7 asks for at least 128), drawn 256 at a time.
const NONCE_BYTES = 16;
const NONCE_BATCH = 256;
const pool = new Uint8Array(NONCE_BYTES * NONCE_BATCH);
let poolNext = NONCE_BATCH;

function newNonce(): string {
  if (poolNext === NONCE_BATCH) {
    globalThis.crypto.getRandomValues(pool);
    poolNext = 0;
  }
  const start = NONCE_BYTES * poolNext++;
  return toBase64url(pool.subarray(start, start + NONCE_BYTES));
}

/** One precomputed set of headers; the CSP is split where nonces go. */
interface HeaderSet {
  fixed: [string, string][];
  cspName: string | undefined;
  cspParts: string[] | undefined;
}

/**
 * Security headers with helmet's coverage and defaults: a Content-Security-Policy (with a fresh
 * nonce per request in `c.get('cspNonce')` wherever a directive names `NONCE`; `script-src`
 * does by default), HSTS on https requests, COOP/CORP (COEP on demand), `Referrer-Policy`,
 * `X-Content-Type-Options`, `X-Frame-Options`, `Origin-Agent-Cluster`, `X-DNS-Prefetch-Control`,
 * `X-Permitted-Cross-Domain-Policies`, `X-Download-Options`, `X-XSS-Protection: 0`, and no
 * `X-Powered-By`. A header the handler set itself wins (a route's own CSP). Error answers get
 * them too; a WebSocket upgrade's response is left as it is.
 *
 * @example
 * app.use(secureHeaders({ contentSecurityPolicy: { directives: { imgSrc: ["'self'", 'https://cdn.example.com'] } } }));
 * app.get('/', (c) => c.html(`<script nonce="${c.get('cspNonce')}">start()</script>`));
 */
export function secureHeaders(options: SecureHeadersOptions = {}): TypedMiddleware<{ cspNonce: string }> {
  const build = (secure: boolean): HeaderSet => {
    const fixed: [string, string][] = [];
    let cspName: string | undefined;
    let cspParts: string[] | undefined;
    const csp = options.contentSecurityPolicy ?? {};
    if (csp !== false) {
      cspName = csp.reportOnly === true ? 'content-security-policy-report-only' : 'content-security-policy';
      cspParts = buildPolicy(csp, secure).split(NONCE);
    }
    const coop = options.crossOriginOpenerPolicy ?? 'same-origin';
    if (coop !== false) fixed.push(['cross-origin-opener-policy', coop]);
    const corp = options.crossOriginResourcePolicy ?? 'same-origin';
    if (corp !== false) fixed.push(['cross-origin-resource-policy', corp]);
    const coep = options.crossOriginEmbedderPolicy ?? false;
    if (coep !== false) fixed.push(['cross-origin-embedder-policy', coep]);
    if (options.originAgentCluster !== false) fixed.push(['origin-agent-cluster', '?1']);
    const referrer = options.referrerPolicy ?? 'no-referrer';
    if (referrer !== false) fixed.push(['referrer-policy', referrer]);
    const hsts = options.strictTransportSecurity ?? {};
    if (hsts !== false && (secure || hsts.always === true)) {
      const maxAge = hsts.maxAge ?? 31_536_000;
      if (!Number.isInteger(maxAge) || maxAge < 0)
        throw new TypeError('HSTS maxAge must be a whole number of seconds');
      let value = `max-age=${maxAge}`;
      if (hsts.includeSubDomains !== false) value += '; includeSubDomains';
      if (hsts.preload === true) value += '; preload';
      fixed.push(['strict-transport-security', value]);
    }
    if (options.xContentTypeOptions !== false) fixed.push(['x-content-type-options', 'nosniff']);
    const dns = options.xDnsPrefetchControl ?? 'off';
    if (dns !== false) fixed.push(['x-dns-prefetch-control', dns]);
    if (options.xDownloadOptions !== false) fixed.push(['x-download-options', 'noopen']);
    const frame = options.xFrameOptions ?? 'SAMEORIGIN';
    if (frame !== false) fixed.push(['x-frame-options', frame]);
    const xdp = options.xPermittedCrossDomainPolicies ?? 'none';
    if (xdp !== false) fixed.push(['x-permitted-cross-domain-policies', xdp]);
    if (options.xXssProtection !== false) fixed.push(['x-xss-protection', '0']);
    return { fixed, cspName, cspParts };
  };
  const overTls = build(true);
  const overHttp = build(false);
  const removePoweredBy = options.removePoweredBy !== false;

  return aroundMiddleware<undefined>({
    before(c: Context) {
      const set = c.info.secure ? overTls : overHttp;
      // Pending headers: they reach the handler's response, an error answer and a WebSocket
      // upgrade's marker alike, and a header the handler sets itself replaces them.
      const fixed = set.fixed;
      for (let i = 0; i < fixed.length; i++) c.header(fixed[i]![0], fixed[i]![1]);
      const parts = set.cspParts;
      if (parts !== undefined) {
        if (parts.length === 1) c.header(set.cspName!, parts[0]!);
        else {
          const nonce = newNonce();
          (c as Context<string, { cspNonce: string }>).set('cspNonce', nonce);
          c.header(set.cspName!, parts.join(`'nonce-${nonce}'`));
        }
      }
      return undefined;
    },
    after(c: Context, res: Response) {
      if (!removePoweredBy || !res.headers.has('x-powered-by')) return;
      try {
        res.headers.delete('x-powered-by');
      } catch {
        // Immutable headers (a fetch() result): answer with a copy without it.
        const copy = new Response(res.body, res);
        copy.headers.delete('x-powered-by');
        c.res = copy;
      }
    },
  }) as TypedMiddleware<{ cspNonce: string }>;
}
