/**
 * An upstream group's options checked and completed with their defaults: every bad value is
 * refused with `STRATA_ERR_UPSTREAM_OPTION`, naming the group, the option and the value.
 */
import type { ActiveSettings } from './active-health.ts';
import type { BreakerSettings } from './breaker.ts';
import { BalanceError } from './errors.ts';
import type { PassiveSettings } from './passive.ts';
import { RETRY_ON_DEFAULT } from './retry.ts';
import type { ActiveHealthOptions, BalanceAlgorithm, BreakerOptions, PassiveHealthOptions } from './types.ts';

/** The defaults, in one place (docs/proxy.md lists the same). */
export const UPSTREAM_DEFAULTS = {
  retry: { attempts: 2, withinMs: 10_000, on: RETRY_ON_DEFAULT },
  health: { intervalMs: 5000, timeoutMs: 2000, status: '2xx', passes: 1, fails: 1 },
  passive: { maxFails: 1, failTimeoutMs: 10_000, maxEjectMs: 300_000, maxEjectedPercent: 50 },
  breaker: { window: 20, minRequests: 10, failureRatio: 0.5, openMs: 10_000 },
  failOn: ['connect-error', 'reset', 'timeout'],
} as const;

/** The passive settings with the group-level share of upstreams that may be ejected at once. */
export interface PassiveGroupSettings extends PassiveSettings {
  readonly maxEjectedPercent: number;
}

export function parseUrl(group: string, i: number, raw: string | URL): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw BalanceError.badOption(group, `upstreams[${i}]`, 'an absolute http(s) URL', String(raw));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw BalanceError.badOption(group, `upstreams[${i}]`, 'an http: or https: URL', url.href);
  }
  return url;
}

export function checkBalance(group: string, balance: BalanceAlgorithm): BalanceAlgorithm {
  if (balance === 'round-robin' || balance === 'weighted' || balance === 'least-connections') return balance;
  if (typeof balance === 'object' && balance !== null) {
    if (balance.hash === 'client') return balance;
    if (
      (balance.hash === 'header' || balance.hash === 'cookie') &&
      typeof balance.name === 'string' &&
      balance.name !== ''
    ) {
      return balance.hash === 'header' ? { hash: 'header', name: balance.name.toLowerCase() } : balance;
    }
  }
  throw BalanceError.badOption(
    group,
    'balance',
    "'round-robin', 'weighted', 'least-connections' or { hash: 'header' | 'cookie', name } | { hash: 'client' }",
    JSON.stringify(balance),
  );
}

/** A whole number at least `min` (or Infinity where allowed by the caller's check). */
export function count(group: string, path: string, value: number, min: number): number {
  if (Number.isInteger(value) && value >= min) return value;
  throw BalanceError.badOption(group, path, `a whole number ≥ ${min}`, value);
}

function percent(group: string, path: string, value: number): number {
  if (Number.isFinite(value) && value >= 0 && value <= 100) return value;
  throw BalanceError.badOption(group, path, 'a percentage from 0 to 100', value);
}

export function passiveSettings(group: string, o: PassiveHealthOptions | undefined): PassiveGroupSettings {
  const d = UPSTREAM_DEFAULTS.passive;
  return {
    maxFails: count(group, 'passive.maxFails', o?.maxFails ?? d.maxFails, 1),
    failTimeoutMs: count(group, 'passive.failTimeoutMs', o?.failTimeoutMs ?? d.failTimeoutMs, 1),
    maxEjectMs: count(group, 'passive.maxEjectMs', o?.maxEjectMs ?? d.maxEjectMs, 1),
    maxEjectedPercent: percent(
      group,
      'passive.maxEjectedPercent',
      o?.maxEjectedPercent ?? d.maxEjectedPercent,
    ),
  };
}

export function breakerSettings(group: string, o: BreakerOptions | undefined): BreakerSettings {
  const d = UPSTREAM_DEFAULTS.breaker;
  const failureRatio = o?.failureRatio ?? d.failureRatio;
  if (!(failureRatio > 0 && failureRatio <= 1)) {
    throw BalanceError.badOption(group, 'breaker.failureRatio', 'a number in (0, 1]', failureRatio);
  }
  const window = count(group, 'breaker.window', o?.window ?? d.window, 1);
  return {
    window,
    minRequests: Math.min(window, count(group, 'breaker.minRequests', o?.minRequests ?? d.minRequests, 1)),
    failureRatio,
    openMs: count(group, 'breaker.openMs', o?.openMs ?? d.openMs, 1),
  };
}

export function activeSettings(group: string, o: ActiveHealthOptions): ActiveSettings {
  const d = UPSTREAM_DEFAULTS.health;
  if (typeof o.uri !== 'string' || !o.uri.startsWith('/')) {
    throw BalanceError.badOption(group, 'health.uri', "a path starting with '/'", o.uri);
  }
  const status = o.status ?? d.status;
  const statusOk =
    (typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599) ||
    (typeof status === 'string' && /^[1-5]xx$/.test(status)) ||
    (Array.isArray(status) && status.length === 2 && status[0] <= status[1]);
  if (!statusOk) {
    throw BalanceError.badOption(
      group,
      'health.status',
      "a status, a class ('2xx') or a range ([200, 399])",
      JSON.stringify(status),
    );
  }
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(o.headers ?? {})) headers[key.toLowerCase()] = value;
  return {
    uri: o.uri,
    intervalMs: count(group, 'health.intervalMs', o.intervalMs ?? d.intervalMs, 1),
    timeoutMs: count(group, 'health.timeoutMs', o.timeoutMs ?? d.timeoutMs, 1),
    status,
    passes: count(group, 'health.passes', o.passes ?? d.passes, 1),
    fails: count(group, 'health.fails', o.fails ?? d.fails, 1),
    headers,
  };
}
