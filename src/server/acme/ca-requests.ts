import { Agent } from 'node:https';
import type * as AcmeClient from 'acme-client';
import { ACME_DEFAULTS } from './options.ts';

/** How strata talks to one CA: its trust, and the bounds on every request to it. */
export interface CaRequestBounds {
  /** PEM roots to trust for the CA's own HTTPS (undefined: the system's). */
  caCertificates: string | undefined;
  /** Connection to last byte of one request, in ms (a CA that trickles bytes is cut here). */
  requestTimeout: number;
  /** The largest answer read, in bytes. */
  maxResponseBytes: number;
  /** Retries of one request on 5xx, 429 and network errors (acme-client's own retry loop). */
  requestRetries: number;
}

interface Profile extends CaRequestBounds {
  agent: Agent | undefined;
}

const FALLBACK: Profile = {
  caCertificates: undefined,
  requestTimeout: ACME_DEFAULTS.requestTimeout,
  maxResponseBytes: ACME_DEFAULTS.maxResponseBytes,
  requestRetries: ACME_DEFAULTS.requestRetries,
  agent: undefined,
};

const profiles = new Map<string, Profile>();
let loaded: Promise<typeof AcmeClient> | undefined;

/**
 * Registers the bounds for requests to the CA whose directory is at `directoryUrl` (by origin);
 * they apply from `loadAcmeClient()` on.
 */
export function boundCaRequests(directoryUrl: string, bounds: CaRequestBounds): void {
  const origin = new URL(directoryUrl).origin;
  const agent =
    bounds.caCertificates === undefined
      ? undefined
      : new Agent({ ca: bounds.caCertificates, keepAlive: false });
  profiles.get(origin)?.agent?.destroy();
  profiles.set(origin, {
    caCertificates: bounds.caCertificates,
    requestTimeout: bounds.requestTimeout,
    maxResponseBytes: bounds.maxResponseBytes,
    requestRetries: bounds.requestRetries,
    agent,
  });
}

/**
 * acme-client, loaded on the first order (it and axios cost ~150 ms of startup, which a server
 * with a valid stored certificate never needs to pay), with strata's bounds installed.
 *
 * acme-client sends every request through one shared axios instance, with no per-client
 * options; strata adds one request interceptor to it that looks each request's origin up and
 * sets its agent (the trusted roots — a test CA is trusted for that CA only, never for the
 * process), a total deadline (an AbortSignal: axios's own `timeout` is an idle timer, which a
 * server sending a byte a second never trips), a size cap, no redirects, and how many of
 * acme-client's retries this request may use. A request to any other origin (a CA whose URLs
 * leave its directory's host) gets the default bounds.
 */
export function loadAcmeClient(): Promise<typeof AcmeClient> {
  loaded ??= import('acme-client').then((acme) => {
    installBounds(acme);
    return acme;
  });
  return loaded;
}

function installBounds(acme: typeof AcmeClient): void {
  acme.axios.interceptors.request.use((config) => {
    const url = config.url === undefined ? null : URL.parse(config.url, config.baseURL);
    const profile = (url === null ? undefined : profiles.get(url.origin)) ?? FALLBACK;
    if (profile.agent !== undefined) config.httpsAgent = profile.agent;
    config.signal = AbortSignal.timeout(profile.requestTimeout);
    config.timeout = profile.requestTimeout;
    config.maxContentLength = profile.maxResponseBytes;
    config.maxBodyLength = profile.maxResponseBytes;
    config.maxRedirects = 0;
    // acme-client counts its retries in `config.retryAttempt` (src/axios.js) up to
    // `acmeSettings.retryMaxAttempts`: starting the count higher leaves this many.
    const retry = config as typeof config & { retryAttempt?: number };
    if (retry.retryAttempt === undefined) {
      const max = (acme.axios.defaults as { acmeSettings?: { retryMaxAttempts?: number } }).acmeSettings
        ?.retryMaxAttempts;
      if (typeof max === 'number') retry.retryAttempt = Math.max(0, max - profile.requestRetries);
    }
    return config;
  });
}
