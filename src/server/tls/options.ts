import type { TLSSocket } from 'node:tls';

/**
 * One certificate with its private key: PEM text (or bytes), or the path of a PEM file. A file is
 * read again on every reload (SIGHUP, a change to the file, `reloadCertificates()`).
 */
export interface CertificateOptions {
  /** The certificate chain, leaf first (nginx's `ssl_certificate`): PEM, or a file path. */
  cert: string | Uint8Array;
  /** Its private key (nginx's `ssl_certificate_key`): PEM, or a file path. */
  key: string | Uint8Array;
  /** The key's passphrase, if it is encrypted. */
  passphrase?: string;
  /**
   * The host names this certificate answers (SNI): exact (`example.com`) or wildcards
   * (`*.example.com`, one label). Default: the names in the certificate's subjectAltName.
   */
  names?: string[];
}

/** `Strict-Transport-Security` (RFC 6797): sent on HTTPS responses only. */
export interface HstsOptions {
  /** Seconds browsers remember to use HTTPS only. Default 31536000 (one year). */
  maxAge?: number;
  /** The policy covers subdomains too. Default false. */
  includeSubDomains?: boolean;
  /** Ask for the browsers' preload list (needs `includeSubDomains` and a year). Default false. */
  preload?: boolean;
}

/**
 * HTTPS for `serve()` (see docs/tls.md): one certificate (`cert`, `key`), several chosen by SNI
 * (`certificates`), or a development certificate made and cached for localhost (`selfSigned`).
 *
 * @example
 * serve(app, { port: 443, tls: { cert: '/etc/ssl/site.pem', key: '/etc/ssl/site.key', hsts: true, redirectHttp: 80 } });
 */
export interface TlsOptions extends Partial<CertificateOptions> {
  /** Several certificates, chosen by the name the client asks for (SNI), with wildcards. */
  certificates?: CertificateOptions[];
  /**
   * The certificate for clients that send no name, or a name no certificate has: one of the
   * names of `certificates`. Default: the first certificate (`cert`/`key` when given).
   */
  default?: string;
  /** No certificate: a self-signed one for localhost, 127.0.0.1 and ::1, cached per user (development). */
  selfSigned?: boolean;
  /** Lowest TLS version accepted: `'TLSv1.2'` (default) or `'TLSv1.3'`. Older ones never are. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** TLS 1.2 cipher suites (OpenSSL names, `:`-separated). Default: Mozilla's "intermediate". */
  ciphers?: string;
  /** Key-exchange groups (`:`-separated). Default `TLS_DEFAULTS.ecdhCurve`. */
  ecdhCurve?: string;
  /** Time a client gets to finish its handshake, in ms. Default `TLS_DEFAULTS.handshakeTimeout`. */
  handshakeTimeout?: number;
  /** How long a session ticket may be resumed, in seconds. Default `TLS_DEFAULTS.sessionTimeout`. */
  sessionTimeout?: number;
  /**
   * The secret session-ticket keys are derived from (at least 32 bytes): every process given the
   * same secret resumes the others' sessions. Default: a random one per process. Under
   * `strata serve --workers` the primary makes one and gives it to its workers.
   */
  ticketSecret?: string | Uint8Array;
  /** How often the ticket key changes, in ms. Default `TLS_DEFAULTS.ticketRotation`. */
  ticketRotation?: number;
  /** Reload a certificate when its file changes. Default true. */
  watch?: boolean;
  /** `Strict-Transport-Security` on HTTPS responses: `true` for the defaults, or options. Default off. */
  hsts?: boolean | HstsOptions;
  /**
   * A plain HTTP listener that answers every request with a 308 to the same path on HTTPS:
   * its port, or `{ port, host }` (host defaults to the server's).
   */
  redirectHttp?: number | { port: number; host?: string };
  /**
   * Other protocols offered by ALPN. `h2`: called with each TLS socket whose client chose
   * HTTP/2 (the HTTP/2 server takes it from there). Absent: only `http/1.1` is offered.
   */
  alpn?: { h2?: (socket: TLSSocket) => void };
}

/**
 * Mozilla's "intermediate" TLS 1.2 suites (ssl-config.mozilla.org, v5.7), without the DHE ones:
 * ECDHE only (forward secrecy without DH parameters), AEAD only. TLS 1.3 keeps OpenSSL's suites.
 */
export const INTERMEDIATE_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** The TLS defaults, in one place (docs/tls.md shows the same). */
export const TLS_DEFAULTS = {
  minVersion: 'TLSv1.2',
  ciphers: INTERMEDIATE_CIPHERS,
  /** Mozilla intermediate's groups: X25519, P-256, P-384. */
  ecdhCurve: 'X25519:prime256v1:secp384r1',
  handshakeTimeout: 10_000,
  sessionTimeout: 3600,
  ticketRotation: 3_600_000,
  watch: true,
  /** Wait this long after a file event before reloading (editors and certbot write in steps). */
  watchDebounce: 200,
  hstsMaxAge: 31_536_000,
} as const;

/** The `Strict-Transport-Security` value of the option, or undefined when off. */
export function hstsValue(option: TlsOptions['hsts']): string | undefined {
  if (option === undefined || option === false) return undefined;
  const o = option === true ? {} : option;
  const maxAge = o.maxAge ?? TLS_DEFAULTS.hstsMaxAge;
  if (!Number.isInteger(maxAge) || maxAge < 0)
    throw new TypeError(`serve(): tls.hsts.maxAge must be a non-negative integer, got ${String(maxAge)}`);
  return `max-age=${maxAge}${o.includeSubDomains === true ? '; includeSubDomains' : ''}${o.preload === true ? '; preload' : ''}`;
}
