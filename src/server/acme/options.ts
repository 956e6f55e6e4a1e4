import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AcmeError } from './errors.ts';

/** Let's Encrypt's directories (RFC 8555 §7.1.1). */
export const LETS_ENCRYPT = {
  production: 'https://acme-v02.api.letsencrypt.org/directory',
  staging: 'https://acme-staging-v02.api.letsencrypt.org/directory',
} as const;

/**
 * Every ACME setting with a default, in one place (docs/acme.md shows the same table). Durations
 * in ms.
 */
export const ACME_DEFAULTS = {
  /** The CA's directory: Let's Encrypt production. */
  directoryUrl: LETS_ENCRYPT.production,
  /** Renew this long before expiry (or at a third of the lifetime left, for short-lived certificates). */
  renewBefore: 30 * 86_400_000,
  /** First retry after a failed order; doubles per failure in a row. */
  retryMin: 60_000,
  /** Longest wait between retries (Let's Encrypt allows 5 failed validations per host an hour). */
  retryMax: 6 * 3_600_000,
  /** Each request to the CA, connection to last byte. */
  requestTimeout: 30_000,
  /** Largest answer read from the CA (a certificate chain is a few KiB). */
  maxResponseBytes: 1_048_576,
  /**
   * Retries of one request to the CA on 5xx/429 and network errors, inside one order. None: the
   * order fails and the manager's own backoff (a minute, doubling) retries it — acme-client
   * would sleep for whatever `Retry-After` the CA sends, unbounded, inside the order.
   */
  requestRetries: 0,
} as const;

/** What the user sets: `--acme` and the `acme` key of the config file. */
export interface AcmeConfig {
  /** The names to get one certificate for (the first is its subject). */
  domains: string[];
  /** A contact address the CA may write to about expiring certificates or problems. */
  email?: string;
  /** The CA's directory URL (default Let's Encrypt production). */
  directoryUrl?: string;
  /** Use Let's Encrypt's staging directory (untrusted certificates, generous rate limits). */
  staging?: boolean;
  /** Where the account key and certificates are kept (default `$XDG_DATA_HOME/strata/acme`). */
  storage?: string;
  /** You agree to the CA's terms of service (required by Let's Encrypt). */
  agreeToTerms?: boolean;
  /** A PEM file of roots to trust for the CA's own HTTPS (a private CA such as step-ca, or pebble). */
  caFile?: string;
}

/** `AcmeConfig`, plus what code (and tests) may also set. */
export interface AcmeOptions extends AcmeConfig {
  /**
   * The challenge to answer: `http-01` (default; the HTTP listener on port 80 answers) or
   * `tls-alpn-01` (the TLS listener on port 443 answers, through `tlsAlpnFront`; one process).
   */
  challenge?: 'http-01' | 'tls-alpn-01';
  /** PEM certificates to trust for the CA's own HTTPS (a private or test CA); default the system's. */
  caCertificates?: string;
  renewBefore?: number;
  retryMin?: number;
  retryMax?: number;
  requestTimeout?: number;
  maxResponseBytes?: number;
  requestRetries?: number;
  /** The clock, in ms since the epoch (tests move it). */
  now?: () => number;
  /** A number in [0, 1) for the retry jitter (tests pin it). */
  random?: () => number;
}

/** The options with every default filled in. */
export interface ResolvedAcmeOptions {
  domains: string[];
  challenge: 'http-01' | 'tls-alpn-01';
  email: string | undefined;
  directoryUrl: string;
  storage: string;
  agreeToTerms: boolean;
  caCertificates: string | undefined;
  renewBefore: number;
  retryMin: number;
  retryMax: number;
  requestTimeout: number;
  maxResponseBytes: number;
  requestRetries: number;
  now: () => number;
  random: () => number;
}

// A DNS name of letters, digits and hyphens (RFC 1123), lower case; no wildcard: HTTP-01 cannot
// prove one (RFC 8555 §8.3 — wildcards need DNS-01).
const DOMAIN =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** What is wrong with a domain for an HTTP-01 certificate, or undefined. */
export function domainProblem(domain: string): string | undefined {
  if (domain.startsWith('*.'))
    return 'is a wildcard: wildcards need the DNS-01 challenge, which strata does not answer';
  if (!DOMAIN.test(domain)) return 'is not a lower-case DNS name with a dot (example.com)';
  return undefined;
}

/** The default storage: `$XDG_DATA_HOME/strata/acme`, else `~/.local/share/strata/acme`. */
export function defaultAcmeStorage(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME !== undefined && env.XDG_DATA_HOME !== '' ? env.XDG_DATA_HOME : undefined;
  return join(base ?? join(homedir(), '.local', 'share'), 'strata', 'acme');
}

/** Fills in the defaults and checks the options, naming the bad one. */
export function resolveAcmeOptions(options: AcmeOptions): ResolvedAcmeOptions {
  const domains = [...new Set(options.domains.map((d) => d.trim().toLowerCase().replace(/\.$/, '')))];
  if (domains.length === 0) throw new AcmeError('STRATA_ERR_ACME_CONFIG', 'acme: no domain given');
  for (const d of domains) {
    const problem = domainProblem(d);
    if (problem !== undefined) throw new AcmeError('STRATA_ERR_ACME_CONFIG', `acme: "${d}" ${problem}`);
  }
  if (options.staging === true && options.directoryUrl !== undefined)
    throw new AcmeError('STRATA_ERR_ACME_CONFIG', 'acme: set staging or directoryUrl, not both');
  const directoryUrl =
    options.directoryUrl ?? (options.staging === true ? LETS_ENCRYPT.staging : ACME_DEFAULTS.directoryUrl);
  const url = URL.parse(directoryUrl);
  if (url === null || url.protocol !== 'https:')
    throw new AcmeError(
      'STRATA_ERR_ACME_CONFIG',
      `acme: directoryUrl must be an https:// URL, got "${directoryUrl}"`,
    );
  const retryMin = options.retryMin ?? ACME_DEFAULTS.retryMin;
  const retryMax = Math.max(retryMin, options.retryMax ?? ACME_DEFAULTS.retryMax);
  const challenge = options.challenge ?? 'http-01';
  if (challenge !== 'http-01' && challenge !== 'tls-alpn-01')
    throw new AcmeError(
      'STRATA_ERR_ACME_CONFIG',
      `acme: challenge must be http-01 or tls-alpn-01, got "${challenge}"`,
    );
  return {
    domains,
    challenge,
    email: options.email,
    directoryUrl,
    storage: options.storage ?? defaultAcmeStorage(),
    agreeToTerms: options.agreeToTerms ?? false,
    caCertificates:
      options.caCertificates ?? (options.caFile === undefined ? undefined : readCaFile(options.caFile)),
    renewBefore: options.renewBefore ?? ACME_DEFAULTS.renewBefore,
    retryMin,
    retryMax,
    requestTimeout: options.requestTimeout ?? ACME_DEFAULTS.requestTimeout,
    maxResponseBytes: options.maxResponseBytes ?? ACME_DEFAULTS.maxResponseBytes,
    requestRetries: options.requestRetries ?? ACME_DEFAULTS.requestRetries,
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
  };
}

function readCaFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new AcmeError(
      'STRATA_ERR_ACME_CONFIG',
      `acme: cannot read caFile ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}
