import { readFileSync } from 'node:fs';

/**
 * Every supervisor setting, with its default, in one place. `strata serve`'s flags, docs/cli.md
 * and docs/parallel.md show the same values, and a test checks them against this table.
 */
export const SUPERVISOR_DEFAULTS = {
  /** Seconds a worker's event loop may stay blocked before the watchdog kills it (0 = no watchdog). */
  workerTimeout: 30,
  /** Requests a worker serves before it is replaced (0 = never). */
  maxRequests: 0,
  /** Up to this many requests added at random to each worker's maxRequests, so they do not all recycle at once. */
  maxRequestsJitter: 0,
  /** Seconds a draining worker gets to finish its requests before it is killed. */
  gracefulTimeout: 30,
  /** First restart delay after a crash, in ms; it doubles with each crash in a row. */
  restartDelay: 100,
  /** Longest restart delay, in ms. */
  restartDelayMax: 10_000,
  /** Ms a worker must stay up before its crash no longer counts as "in a row". */
  stableAfter: 10_000,
  /** Workers in a row that exit before they are ready before the supervisor gives up. */
  maxStartupFailures: 5,
} as const;

/** How worker processes share the port. */
export type SupervisorMode = 'reusePort' | 'cluster';

/** Whether Linux hands a closing listener's queued connections to another one (kernel ≥ 5.14). */
export function kernelMigratesConnections(): boolean {
  try {
    return readFileSync('/proc/sys/net/ipv4/tcp_migrate_req', 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/**
 * The mode that loses nothing in a rolling reload. With SO_REUSEPORT each worker has its own
 * accept queue, and Linux resets the connections still waiting in it when the worker closes its
 * listener — unless `net.ipv4.tcp_migrate_req` is 1. Measured (docs/parallel.md): clients that
 * open a connection per request saw ECONNRESETs in every reusePort reload, none with cluster,
 * whose primary owns the one listening socket. So reusePort is the default only where the
 * kernel migrates those connections.
 */
export function defaultMode(
  platform: NodeJS.Platform = process.platform,
  migrates: () => boolean = kernelMigratesConnections,
): SupervisorMode {
  return platform === 'linux' && migrates() ? 'reusePort' : 'cluster';
}
