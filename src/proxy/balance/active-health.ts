/**
 * Active health checks: every `intervalMs` each upstream is asked for `uri` with a `GET` over a
 * fresh connection; a response head with the expected status in `timeoutMs` passes. `fails`
 * failures in a row make a healthy upstream unhealthy, `passes` passes in a row make it healthy
 * again (nginx Plus `health_check fails= passes=`, Caddy `health_fails`/`health_passes`).
 *
 * The timers are unref'd (a check never keeps the process alive) and `close()` stops them and
 * aborts the checks in flight.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ExpectedStatus, HealthProbe, ProbeResult, Upstream } from './types.ts';

export interface ActiveSettings {
  readonly uri: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly status: ExpectedStatus;
  readonly passes: number;
  readonly fails: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** Whether `status` is the one expected: equal, in the class (`'2xx'`), or in the range. */
export function statusMatches(status: number, expected: ExpectedStatus): boolean {
  if (typeof expected === 'number') return status === expected;
  if (typeof expected === 'string') return Math.floor(status / 100) === Number(expected[0]);
  return status >= expected[0] && status <= expected[1];
}

/**
 * The default probe: `GET uri` on the upstream's origin over node:http(s), no pooling (a fresh
 * connection each time, so a refused or hung accept shows), `Connection: close`.
 */
export function httpProbe(settings: ActiveSettings): HealthProbe {
  return (upstream, signal) =>
    new Promise<ProbeResult>((resolve) => {
      const target = new URL(settings.uri, upstream.url.origin);
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      let settled = false;
      const settle = (result: ProbeResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const req = send(target, {
        method: 'GET',
        agent: false,
        headers: {
          host: target.host,
          'user-agent': 'strata-health-check',
          connection: 'close',
          ...settings.headers,
        },
      });
      const timer = setTimeout(() => {
        settle({ ok: false, reason: `no response in ${settings.timeoutMs} ms` });
        req.destroy();
      }, settings.timeoutMs);
      timer.unref();
      const onAbort = (): void => {
        settle({ ok: false, reason: 'check aborted' });
        req.destroy();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      // Nor does its connection keep the process alive (a hung upstream would hold it timeoutMs).
      req.on('socket', (socket) => socket.unref());
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        res.destroy();
        settle(
          statusMatches(status, settings.status)
            ? { ok: true, reason: `status ${status}` }
            : { ok: false, reason: `status ${status}` },
        );
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        settle({ ok: false, reason: err.code ?? err.message });
      });
      req.end();
    });
}

/**
 * Rise and fall counting for one upstream: `record` returns the new verdict when `passes` passes
 * or `fails` failures in a row changed it, else undefined. Upstreams start healthy (as in nginx
 * and Caddy), so traffic flows before the first check ends.
 */
export class RiseFall {
  healthy = true;
  #streak = 0;
  readonly #passes: number;
  readonly #fails: number;

  constructor(passes: number, fails: number) {
    this.#passes = passes;
    this.#fails = fails;
  }

  record(ok: boolean): boolean | undefined {
    if (ok === this.healthy) {
      this.#streak = 0;
      return undefined;
    }
    this.#streak++;
    if (this.#streak < (ok ? this.#passes : this.#fails)) return undefined;
    this.#streak = 0;
    this.healthy = ok;
    return ok;
  }
}

/** Runs the probe on each upstream, every `intervalMs` after the previous check of it ended. */
export class ActiveHealthCheck<U extends Upstream> {
  readonly #targets: readonly U[];
  readonly #intervalMs: number;
  readonly #probe: HealthProbe;
  readonly #report: (upstream: U, result: ProbeResult) => void;
  readonly #timers = new Map<U, NodeJS.Timeout>();
  #abort = new AbortController();
  #running = false;

  constructor(
    targets: readonly U[],
    intervalMs: number,
    probe: HealthProbe,
    report: (upstream: U, result: ProbeResult) => void,
  ) {
    this.#targets = targets;
    this.#intervalMs = intervalMs;
    this.#probe = probe;
    this.#report = report;
  }

  /** Checks every upstream now, then every interval, until `close()`. Calling it twice is a no-op. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#abort = new AbortController();
    for (const target of this.#targets) void this.#loop(target);
  }

  /** One check of every upstream, now (tests, and an admin's "check now"). */
  async checkAll(): Promise<void> {
    await Promise.all(this.#targets.map((target) => this.#check(target, this.#abort.signal)));
  }

  /** Stops the timers and aborts the checks in flight. */
  close(): void {
    this.#running = false;
    this.#abort.abort();
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  async #loop(target: U): Promise<void> {
    const signal = this.#abort.signal;
    await this.#check(target, signal);
    if (!this.#running || signal.aborted) return;
    const timer = setTimeout(() => void this.#loop(target), this.#intervalMs);
    timer.unref();
    this.#timers.set(target, timer);
  }

  async #check(target: U, signal: AbortSignal): Promise<void> {
    let result: ProbeResult;
    try {
      result = await this.#probe(target, signal);
    } catch (err) {
      // A custom probe that throws has failed its check; the reason says how.
      result = { ok: false, reason: err instanceof Error ? err.message : String(err) };
    }
    if (!signal.aborted) this.#report(target, result);
  }
}
