import type { IncomingMessage, ServerResponse } from 'node:http';
import { addressKey } from '../gateway/rate-limit/address-key.ts';
import { type RateLimitPolicy, ratePolicy } from '../gateway/rate-limit/gcra.ts';
import { policyField, rateLimitField, retryAfterSeconds, sfString } from '../gateway/rate-limit/headers.ts';
import { MemoryRateLimitStore } from '../gateway/rate-limit/memory-store.ts';
import { parseRate, parseWindow, type WindowSpec } from '../gateway/rate-limit/rate-spec.ts';
import type { RemoteAddress } from '../gateway/types.ts';

/** The `rateLimit` option of `serve()`: a budget per client address, checked before the app wakes. */
export interface EdgeRateLimitOptions {
  /** Requests per window, sustained. */
  limit: number;
  /** The window: ms, or `10s`, `1m`, `1h`. */
  window: WindowSpec;
  /** Requests a client at rest may send at once. Default `limit`. */
  burst?: number;
  /** Most client addresses tracked at once (default 100,000; the least recently seen go first). */
  maxKeys?: number;
  /** The policy's name in `RateLimit-Policy` / `RateLimit`. Default `edge`. */
  name?: string;
}

/**
 * The edge's rate limit: the GCRA of `src/gateway/rate-limit/` on a memory store of this
 * process, keyed by the client address after trusted-proxy resolution (an IPv6 client by its
 * /64). Synchronous, so it runs inside the edge policy for every request of both transports and
 * for every upgrade. A refused request gets a 429 problem+json with `Retry-After` and the draft
 * `RateLimit-Policy` / `RateLimit` fields; passed requests are not touched (the app's response is
 * its own; the `rateLimit()` middleware adds the fields to successes).
 */
export class EdgeRateLimiter {
  readonly policy: RateLimitPolicy;
  readonly store: MemoryRateLimitStore;
  readonly #remoteOf: ((req: IncomingMessage) => RemoteAddress) | undefined;
  readonly #policyField: string;
  readonly #quotedName: string;
  readonly #clock: () => number;

  constructor(
    spec: EdgeRateLimitOptions | string,
    remoteOf: ((req: IncomingMessage) => RemoteAddress) | undefined,
    clock: () => number = Date.now,
  ) {
    // `100/1m`, as the CLI flag and the config file write it.
    const options: EdgeRateLimitOptions = typeof spec === 'string' ? parseRate(spec) : spec;
    this.policy = ratePolicy(options.limit, parseWindow(options.window), options.burst ?? options.limit);
    this.store = new MemoryRateLimitStore(options.maxKeys === undefined ? {} : { maxKeys: options.maxKeys });
    this.#remoteOf = remoteOf;
    const name = options.name ?? 'edge';
    this.#quotedName = sfString(name);
    this.#policyField = policyField(name, this.policy);
    this.#clock = clock;
  }

  #key(req: IncomingMessage): string {
    const address =
      this.#remoteOf !== undefined ? this.#remoteOf(req).address : (req.socket.remoteAddress ?? '');
    return addressKey(address);
  }

  /** Spends one request of the client's budget; false when it is spent. */
  allows(req: IncomingMessage): boolean {
    return this.store.take(this.#key(req), this.policy, this.#clock());
  }

  /** The 429 for a request `allows` refused (read again, without spending). */
  refuse(req: IncomingMessage, res: ServerResponse): void {
    const decision = this.store.peek(this.#key(req), this.policy, 1, this.#clock());
    const retry = retryAfterSeconds(decision);
    const body = `{"type":"about:blank","title":"Too Many Requests","status":429,"detail":"Too many requests from this address: retry in ${retry} s"}`;
    res.statusMessage = 'Too Many Requests';
    for (const name of res.getHeaderNames()) if (name !== 'connection') res.removeHeader(name);
    try {
      res.writeHead(429, {
        'content-type': 'application/problem+json',
        'content-length': Buffer.byteLength(body),
        'retry-after': String(retry),
        'ratelimit-policy': this.#policyField,
        ratelimit: rateLimitField(this.#quotedName, decision),
        'x-content-type-options': 'nosniff',
      });
      res.end(body);
    } catch {
      res.destroy();
    }
  }
}
