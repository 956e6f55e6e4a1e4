/**
 * Upstream groups: which upstream answers the next proxied request, and what is known about
 * each one's health. This file is the contract between the proxy (src/proxy/*.ts) and the
 * balancing algorithms, health checks and circuit breakers (src/proxy/balance/*).
 *
 * How the proxy drives a group, per request:
 *
 * 1. `pick(ctx, tried)` → an upstream, or undefined (answer 503: nothing can take it);
 * 2. `begin(upstream)` just before the attempt (it counts in flight, and in half-open it is the
 *    breaker's one probe), then `end(upstream, outcome, ms)` exactly once when the response head
 *    arrived or the attempt failed;
 * 3. on a failure, `canRetry(method, outcome, attempt, startedAt)` says whether to `pick` again
 *    with the tried upstreams in `tried` (only while nothing reached the client and the body can
 *    be replayed).
 *
 * `start()` begins the active health checks (when `health.uri` is set), `close()` ends them.
 *
 * Metrics: `snapshot()` gives each upstream's `state`, `available` and `active` — read it in a
 * gauge's collect callback (`strata_upstream_up{group,upstream}` = available ? 1 : 0,
 * `strata_upstream_state{…,state}`); `onChange(listener)` reports every change of `state` with a
 * reason, for the log and counters. Listeners run synchronously inside `pick`/`end`/checks and
 * must not throw.
 */
import { ActiveHealthCheck, httpProbe, RiseFall } from './active-health.ts';
import {
  type Cursor,
  hashKey,
  leastConnections,
  rendezvous,
  roundRobin,
  smoothWeighted,
} from './algorithms.ts';
import { CircuitBreaker } from './breaker.ts';
import { BalanceError } from './errors.ts';
import {
  activeSettings,
  breakerSettings,
  checkBalance,
  count,
  parseUrl,
  passiveSettings,
  UPSTREAM_DEFAULTS,
} from './options.ts';
import { PassiveEjection } from './passive.ts';
import { canRetry } from './retry.ts';
import type {
  ActiveHealthOptions,
  BalanceAlgorithm,
  BreakerOptions,
  HealthProbe,
  Outcome,
  PassiveHealthOptions,
  PickContext,
  ProbeResult,
  StateListener,
  Upstream,
  UpstreamSnapshot,
  UpstreamSpec,
  UpstreamState,
} from './types.ts';

export { BalanceError } from './errors.ts';
export { UPSTREAM_DEFAULTS } from './options.ts';
export { IDEMPOTENT_METHODS, RETRY_ON_DEFAULT } from './retry.ts';
export type {
  ActiveHealthOptions,
  BalanceAlgorithm,
  BreakerOptions,
  ExpectedStatus,
  HealthProbe,
  Outcome,
  PassiveHealthOptions,
  PickContext,
  ProbeResult,
  StateListener,
  Upstream,
  UpstreamSnapshot,
  UpstreamSpec,
  UpstreamState,
} from './types.ts';

export interface UpstreamGroupOptions {
  /** The group's name in logs and metrics (`default` when omitted). */
  readonly name?: string;
  readonly upstreams: readonly (string | URL | UpstreamSpec)[];
  readonly balance?: BalanceAlgorithm;
  /**
   * Retries of idempotent requests on another upstream after a connect failure, a reset or a
   * timeout before the response head (default `{ attempts: 2, withinMs: 10_000 }`; `on` narrows
   * the outcomes). `false`: never.
   */
  readonly retry?:
    | { readonly attempts?: number; readonly withinMs?: number; readonly on?: readonly Outcome[] }
    | false;
  /** Active health checks; off unless given. */
  readonly health?: ActiveHealthOptions;
  /** Passive health (ejection after failures in a row); on by default, `false` turns it off. */
  readonly passive?: PassiveHealthOptions | false;
  /** A circuit breaker per upstream; on by default, `false` turns it off. */
  readonly breaker?: BreakerOptions | false;
  /**
   * The outcomes that count as failures for passive health and the breaker (default
   * `['connect-error', 'reset', 'timeout']`; add `'server-error'` to count 5xx answers).
   */
  readonly failOn?: readonly Outcome[];
  /** Called on every change of an upstream's `state` (more with `group.onChange`). */
  readonly onChange?: StateListener;
  /** The clock, in milliseconds (default `Date.now`); tests step their own. */
  readonly now?: () => number;
  /** Replaces the active check's HTTP GET (tests, or a check over another protocol). */
  readonly probe?: HealthProbe;
}

/**
 * A named set of upstreams and the algorithm that chooses between them, with the health of each.
 *
 * @example
 * const group = new UpstreamGroup({
 *   name: 'api',
 *   upstreams: ['http://10.0.0.1:3000', { url: 'http://10.0.0.2:3000', weight: 2 }],
 *   balance: 'least-connections',
 *   health: { uri: '/healthz', intervalMs: 2000 },
 *   onChange: (u, state, reason) => console.log(u.id, state, reason),
 * });
 * group.start();
 */
export class UpstreamGroup {
  readonly name: string;
  readonly upstreams: readonly Upstream[];
  /** How many further attempts an idempotent request may make, and within how long. */
  readonly retry: { readonly attempts: number; readonly withinMs: number; readonly on: readonly Outcome[] };
  readonly #nodes: readonly UpstreamNode[];
  readonly #balance: BalanceAlgorithm;
  readonly #cursor: Cursor = { next: 0 };
  readonly #weights: number[];
  readonly #seeds: readonly number[];
  readonly #failOn: readonly Outcome[];
  readonly #slowMs: number;
  /** How many upstreams passive checks may have ejected at once. */
  readonly #maxEjected: number;
  readonly #now: () => number;
  readonly #listeners: StateListener[] = [];
  readonly #health: ActiveHealthCheck<UpstreamNode> | undefined;
  /** The earliest time an ejection or an open breaker runs out (pick refreshes then). */
  #wakeAt = Infinity;
  /** Refreshes at `#wakeAt` when no pick comes first, so changes are reported on time. */
  #wakeTimer: NodeJS.Timeout | undefined = undefined;
  #closed = false;

  constructor(options: UpstreamGroupOptions) {
    const name = options.name ?? 'default';
    this.name = name;
    if (options.upstreams.length === 0) {
      throw BalanceError.badOption(name, 'upstreams', 'a non-empty list', '[]');
    }
    const passive = options.passive === false ? undefined : passiveSettings(name, options.passive);
    const breaker = options.breaker === false ? undefined : breakerSettings(name, options.breaker);
    const health = options.health === undefined ? undefined : activeSettings(name, options.health);
    const single = options.upstreams.length === 1;
    const nodes = options.upstreams.map((spec, i) => {
      const raw = typeof spec === 'string' || spec instanceof URL ? { url: spec } : spec;
      const url = parseUrl(name, i, raw.url);
      const weight = raw.weight ?? 1;
      if (!(Number.isFinite(weight) && weight > 0)) {
        throw BalanceError.badOption(name, `upstreams[${i}].weight`, 'a positive number', weight);
      }
      return new UpstreamNode(
        this,
        url.origin,
        url,
        weight,
        health === undefined ? undefined : new RiseFall(health.passes, health.fails),
        passive === undefined || single ? undefined : new PassiveEjection(passive),
        breaker === undefined ? undefined : new CircuitBreaker(breaker),
      );
    });
    this.#nodes = nodes;
    this.upstreams = nodes;
    this.#balance = checkBalance(name, options.balance ?? 'round-robin');
    this.#weights = nodes.map(() => 0);
    this.#seeds = nodes.map((n) => hashKey(n.id));
    const retry = options.retry === false ? { attempts: 0, withinMs: 0 } : options.retry;
    this.retry = {
      attempts: count(name, 'retry.attempts', retry?.attempts ?? UPSTREAM_DEFAULTS.retry.attempts, 0),
      withinMs: count(name, 'retry.withinMs', retry?.withinMs ?? UPSTREAM_DEFAULTS.retry.withinMs, 0),
      on: retry?.on ?? UPSTREAM_DEFAULTS.retry.on,
    };
    this.#failOn = options.failOn ?? UPSTREAM_DEFAULTS.failOn;
    this.#slowMs =
      options.passive === false || options.passive?.slowMs === undefined
        ? Infinity
        : count(name, 'passive.slowMs', options.passive.slowMs, 1);
    this.#maxEjected =
      passive === undefined ? 0 : Math.max(1, Math.floor((nodes.length * passive.maxEjectedPercent) / 100));
    this.#now = options.now ?? Date.now;
    if (options.onChange !== undefined) this.#listeners.push(options.onChange);
    this.#health =
      health === undefined
        ? undefined
        : new ActiveHealthCheck(
            nodes,
            health.intervalMs,
            options.probe ?? httpProbe(health),
            (node, result) => this.#checked(node, result),
          );
  }

  /** The upstream for the next attempt, skipping `exclude`; undefined when none is available. */
  pick(ctx: PickContext, exclude?: ReadonlySet<Upstream>): Upstream | undefined {
    const nodes = this.#nodes;
    if (this.#wakeAt !== Infinity) {
      const now = this.#now();
      if (now >= this.#wakeAt) this.#refreshAll(now);
    }
    const index = this.#choose(ctx, exclude);
    return index === -1 ? undefined : nodes[index];
  }

  /** An attempt to `upstream` starts. */
  begin(upstream: Upstream): void {
    const node = this.#own(upstream);
    node.active++;
    // Half-open: this attempt is the breaker's one probe (no other takes the upstream meanwhile).
    if (node.state === 'half-open') {
      const now = this.#now();
      node.breaker!.begin(now);
      this.#refresh(node, now, undefined);
    }
  }

  /** An attempt to `upstream` ended with `outcome` after `ms` milliseconds. */
  end(upstream: Upstream, outcome: Outcome, ms: number): void {
    const node = this.#own(upstream);
    node.active--;
    const slow = outcome === 'ok' && ms > this.#slowMs;
    const failed = slow || this.#failOn.includes(outcome);
    // The common case, a success on a healthy upstream, changes no state and reads no clock.
    if (!failed && node.state === 'healthy' && (node.breaker === undefined || node.breaker.success())) {
      node.passive?.success();
      return;
    }
    const now = this.#now();
    const what = slow ? `ok in ${Math.round(ms)} ms (slow)` : outcome;
    let reason: string | undefined;
    if (node.passive !== undefined) {
      if (!failed) node.passive.success();
      else if (node.passive.failure(now, this.#ejectedCount(now) < this.#maxEjected)) {
        reason = `ejected for ${node.passive.until - now} ms after failed attempts in a row (last: ${what})`;
      }
    }
    const changed = node.breaker?.record(failed, now);
    if (changed === 'open' && reason === undefined) {
      reason = `breaker open: ${node.breaker!.failed} of the last ${node.breaker!.remembered} attempts failed (last: ${what})`;
    } else if (changed === 'closed') {
      reason = 'breaker closed: the probe request succeeded';
    }
    this.#refresh(node, now, reason);
  }

  /**
   * Whether a request may be attempted again after attempt number `attempt` (1 for the first)
   * ended with `outcome`: an idempotent method, an outcome in `retry.on`, at most
   * `retry.attempts` retries, none starting later than `retry.withinMs` after `startedAt`.
   * `startedAt` and `now` come from one clock (both `performance.now()`, or both `Date.now()`).
   *
   * @example
   * if (!headSent && replayable && group.canRetry(method, outcome, tried.size, first, performance.now())) retry();
   */
  canRetry(method: string, outcome: Outcome, attempt: number, startedAt: number, now: number): boolean {
    return canRetry(this.retry, method, outcome, attempt, startedAt, now);
  }

  /** Registers a listener for changes of an upstream's `state`; returns its removal. */
  onChange(listener: StateListener): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i !== -1) this.#listeners.splice(i, 1);
    };
  }

  /** Each upstream's state now, for a metrics collector. */
  snapshot(): UpstreamSnapshot[] {
    this.#refreshAll(this.#now());
    return this.#nodes.map((node) => {
      return {
        id: node.id,
        state: node.state,
        available: node.available,
        active: node.active,
        ejections: node.passive?.ejections ?? 0,
        breakerOpens: node.breaker?.opens ?? 0,
      };
    });
  }

  /** Starts active health checks (when `health` is set): one now, then every interval. */
  start(): void {
    this.#closed = false;
    this.#health?.start();
  }

  /** Runs one active check of every upstream now and applies the results. */
  async checkNow(): Promise<void> {
    await this.#health?.checkAll();
  }

  /** Stops health checks and timers. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#health?.close();
    clearTimeout(this.#wakeTimer);
    this.#wakeTimer = undefined;
  }

  #choose(ctx: PickContext, exclude: ReadonlySet<Upstream> | undefined): number {
    const nodes = this.#nodes;
    const balance = this.#balance;
    if (balance === 'round-robin') return roundRobin(nodes, exclude, this.#cursor);
    if (balance === 'weighted') return smoothWeighted(nodes, exclude, this.#weights);
    if (balance === 'least-connections') return leastConnections(nodes, exclude, this.#cursor);
    const key =
      balance.hash === 'client'
        ? clientKey(ctx.remote)
        : balance.hash === 'header'
          ? ctx.header(balance.name)
          : ctx.cookie(balance.name);
    // No key (no such header or cookie): nothing to stick to, so spread the request.
    if (key === undefined || key === '') return roundRobin(nodes, exclude, this.#cursor);
    return rendezvous(nodes, exclude, hashKey(key), this.#seeds);
  }

  #checked(node: UpstreamNode, result: ProbeResult): void {
    const verdict = node.rise!.record(result.ok);
    const now = this.#now();
    // A passing check lifts a passive ejection (Envoy does the same): the upstream came back.
    if (verdict === true) node.passive?.lift(now);
    this.#refresh(node, now, `health check: ${result.reason}`);
  }

  /** An unref'd timer that refreshes at `at` (it never keeps the process alive). */
  #wakeUpAt(at: number, now: number): void {
    if (this.#closed) return;
    clearTimeout(this.#wakeTimer);
    this.#wakeTimer = setTimeout(
      () => {
        this.#wakeTimer = undefined;
        const t = this.#now();
        if (t >= this.#wakeAt) this.#refreshAll(t);
        else if (this.#wakeAt !== Infinity) this.#wakeUpAt(this.#wakeAt, t);
      },
      Math.max(0, at - now),
    );
    this.#wakeTimer.unref();
  }

  /** Upstreams ejected by passive checks at `now` (on the failure path only). */
  #ejectedCount(now: number): number {
    let n = 0;
    for (const node of this.#nodes) if (node.passive?.ejected(now) === true) n++;
    return n;
  }

  /** Refreshes every upstream (time ended an ejection or an open breaker). */
  #refreshAll(now: number): void {
    this.#wakeAt = Infinity;
    for (const node of this.#nodes) this.#refresh(node, now, undefined);
  }

  /**
   * Recomputes `state` and `available`, and when time will change them next (an ejection or an
   * open breaker running out); tells the listeners when the state changed.
   */
  #refresh(node: UpstreamNode, now: number, reason: string | undefined): void {
    const before = node.state;
    let state: UpstreamState = 'healthy';
    if (node.rise !== undefined && !node.rise.healthy) state = 'unhealthy';
    else if (node.passive?.ejected(now) === true) state = 'ejected';
    else if (node.breaker !== undefined) {
      const b = node.breaker.state(now);
      if (b !== 'closed') state = b;
    }
    node.state = state;
    node.available = state === 'healthy' || (state === 'half-open' && node.breaker!.allows(now));
    const wake =
      state === 'ejected' ? node.passive!.until : state === 'open' ? node.breaker!.openUntil : Infinity;
    if (wake < this.#wakeAt) {
      this.#wakeAt = wake;
      this.#wakeUpAt(wake, now);
    }
    if (state === before) return;
    const why = reason ?? timedReason(before, state);
    for (const listener of this.#listeners) listener(node, state, why);
  }

  #own(upstream: Upstream): UpstreamNode {
    if (upstream instanceof UpstreamNode && upstream.group === this) return upstream;
    throw new TypeError(`Upstream ${upstream.id} is not of group "${this.name}"`);
  }
}

/**
 * The client address as a hash key: an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a
 * dual-stack listener reports) is the IPv4 address, so one client sticks to one upstream
 * whichever listener it came through.
 */
function clientKey(remote: string): string {
  return remote.startsWith('::ffff:') && remote.includes('.') ? remote.slice(7) : remote;
}

/** The reason for a change that time made (an ejection or an open breaker ran out). */
function timedReason(before: UpstreamState, after: UpstreamState): string {
  if (before === 'ejected') return 'ejection over';
  if (after === 'half-open') return 'breaker half-open: one probe request';
  return `${before} → ${after}`;
}

/** The group's record of one upstream; the proxy sees it as a read-only `Upstream`. */
class UpstreamNode implements Upstream {
  readonly group: UpstreamGroup;
  readonly id: string;
  readonly url: URL;
  readonly weight: number;
  active = 0;
  available = true;
  state: UpstreamState = 'healthy';
  readonly rise: RiseFall | undefined;
  readonly passive: PassiveEjection | undefined;
  readonly breaker: CircuitBreaker | undefined;

  constructor(
    group: UpstreamGroup,
    id: string,
    url: URL,
    weight: number,
    rise: RiseFall | undefined,
    passive: PassiveEjection | undefined,
    breaker: CircuitBreaker | undefined,
  ) {
    this.group = group;
    this.id = id;
    this.url = url;
    this.weight = weight;
    this.rise = rise;
    this.passive = passive;
    this.breaker = breaker;
  }
}
