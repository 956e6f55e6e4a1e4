import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { Logger } from '../observe/logger.ts';
import type { Metrics } from '../observe/metrics.ts';
import { trackUpstreams, type UpstreamGaugeRow } from '../observe/metrics.ts';
import type { Outcome, PickContext, Upstream, UpstreamGroup } from './balance/index.ts';
import { type ForwardingHeaders, forwardResponseHeaders, type RequestRewrite, withHost } from './headers.ts';
import type { ResolvedProxyOptions } from './options.ts';
import type { ProxyRoute } from './routes.ts';
import type { ResponseSink } from './sink.ts';

/** What the forwarder needs from the server around it. */
export interface ForwarderOptions extends ResolvedProxyOptions {
  /** Which forwarding headers to write (the edge's `trustProxyHeader`). */
  forwarding: ForwardingHeaders;
  /** Whether a peer address is a trusted proxy (its forwarding headers are kept and appended to). */
  trusted: (address: string) => boolean;
  metrics: Metrics | undefined;
  log: Logger;
  /** Tells the access log which upstream answered `req`. */
  noteUpstream?: ((req: object, upstream: string) => void) | undefined;
}

/** A request ready to forward: headers rewritten, body in memory, streamed, or none. */
export interface ProxyRequest {
  readonly method: string;
  /** The client's target (path and query). */
  readonly url: string;
  readonly headers: string[];
  readonly body: Buffer | Readable | null;
  /** The body can be sent again (none, or in memory): an idempotent request may be retried. */
  readonly replayable: boolean;
  readonly pick: PickContext;
  /** The client's request object, for the access log's upstream field. */
  readonly source: object | undefined;
}

/** A request body over the limit, raised by the body's counter (the answer is 413). */
export class BodyTooLarge extends Error {
  constructor(limit: number) {
    super(`request body over ${limit} bytes`);
    this.name = 'BodyTooLarge';
  }
}

/** An upstream answered with a head the proxy will not relay (ambiguous framing). */
class BadUpstreamResponse extends Error {
  readonly code = 'STRATA_PROXY_BAD_RESPONSE';
}

/** How an attempt's error counts for the group (passive health) and the answer. */
function outcomeOf(err: Error): Outcome {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect-error';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'reset';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timeout';
    default:
      return 'server-error';
  }
}

/**
 * Forwards requests to upstream groups over undici `Pool`s, one per upstream, kept alive.
 * One `ProxyAttempt` per request places it (retrying idempotent requests on another upstream
 * after a connect failure or reset, within the group's `retry`), streams the response to its
 * sink with backpressure, and reports the outcome to the group, the metrics and the log.
 */
export class Forwarder {
  readonly options: ForwarderOptions;
  readonly rewrite: RequestRewrite;
  readonly #pools = new Map<Upstream, Pool>();
  readonly #groups = new Set<UpstreamGroup>();
  readonly #untrack: () => void;
  /** The groups' state listeners, removed on close. */
  readonly #unlisten: (() => void)[] = [];

  constructor(options: ForwarderOptions) {
    this.options = options;
    this.rewrite = {
      forwarding: options.forwarding,
      host: undefined,
      via: options.via === false ? undefined : `1.1 ${options.via}`,
    };
    this.#untrack = trackUpstreams(this);
  }

  /** The groups this forwarder has served, started on first use. */
  use(group: UpstreamGroup): void {
    if (this.#groups.has(group)) return;
    this.#groups.add(group);
    // Every change of an upstream's health, logged once with its reason.
    const log = this.options.log;
    this.#unlisten.push(
      group.onChange((upstream, state, reason) => {
        const fields = { group: group.name, upstream: upstream.id, state, reason };
        if (state === 'healthy') log.info(fields, 'proxy: upstream healthy');
        else log.warn(fields, `proxy: upstream ${state}`);
      }),
    );
    group.start();
  }

  /** The keep-alive pool of `upstream`. */
  pool(upstream: Upstream): Pool {
    let pool = this.#pools.get(upstream);
    if (pool === undefined) {
      const o = this.options;
      pool = new Pool(upstream.url.origin, {
        connections: o.connections,
        connectTimeout: o.connectTimeout,
        headersTimeout: o.headersTimeout,
        bodyTimeout: o.idleTimeout,
        keepAliveTimeout: o.keepAliveTimeout,
        keepAliveMaxTimeout: Math.max(o.keepAliveTimeout, 1000),
        // Responses are relayed as they come: no cap here (the client's reading is the bound).
        maxResponseSize: -1,
        pipelining: 1,
      });
      this.#pools.set(upstream, pool);
    }
    return pool;
  }

  /** For the upstream gauges: each upstream's group, health (current: `group.snapshot()`) and connections. */
  snapshot(): UpstreamGaugeRow[] {
    const out: UpstreamGaugeRow[] = [];
    for (const group of this.#groups) {
      const rows = group.snapshot();
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const pool = this.#pools.get(group.upstreams[i]!);
        out.push({
          group: group.name,
          upstream: row.id,
          available: row.available,
          connections: pool === undefined ? 0 : pool.stats.connected,
          active: row.active,
          state: row.state,
        });
      }
    }
    return out;
  }

  /** Forwards `request` to `group` through `route`, answering on `sink`. */
  forward(
    group: UpstreamGroup,
    route: ProxyRoute | undefined,
    request: ProxyRequest,
    sink: ResponseSink,
  ): void {
    this.use(group);
    new ProxyAttempt(this, group, route, request, sink).run();
  }

  /** Closes every pool and stops the groups' health checks. */
  async close(): Promise<void> {
    this.#untrack();
    for (const unlisten of this.#unlisten.splice(0)) unlisten();
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all([
      ...pools.map((p) => p.destroy().catch(() => {})),
      ...[...this.#groups].map((g) => g.close()),
    ]);
  }
}

/**
 * One proxied request: an undici dispatch handler (the callback form, which hands the response
 * head over as raw `Buffer`s without building an object) that may be dispatched again on
 * another upstream while nothing has been sent to the client.
 */
class ProxyAttempt {
  readonly #forwarder: Forwarder;
  readonly #group: UpstreamGroup;
  readonly #route: ProxyRoute | undefined;
  readonly #request: ProxyRequest;
  readonly #sink: ResponseSink;
  #tried: Set<Upstream> | undefined = undefined;
  #upstream: Upstream | undefined = undefined;
  readonly #first = performance.now();
  #startedAt = 0;
  #abort: ((err?: Error) => void) | undefined = undefined;
  #headSent = false;
  #status = 0;
  #finished = false;
  #clientGone = false;
  /** How the last attempt failed (the answer when no other upstream is left). */
  #lastOutcome: Outcome = 'ok';

  constructor(
    forwarder: Forwarder,
    group: UpstreamGroup,
    route: ProxyRoute | undefined,
    request: ProxyRequest,
    sink: ResponseSink,
  ) {
    this.#forwarder = forwarder;
    this.#group = group;
    this.#route = route;
    this.#request = request;
    this.#sink = sink;
    sink.onAbort(() => this.#cancel());
  }

  run(): void {
    const group = this.#group;
    const upstream = group.pick(this.#request.pick, this.#tried);
    if (upstream === undefined) {
      this.#finished = true;
      const tried = this.#tried !== undefined;
      this.#forwarder.options.log.warn(
        { group: group.name, method: this.#request.method, url: this.#request.url },
        tried ? 'proxy: no upstream answered' : 'proxy: no upstream available',
      );
      if (!tried) this.#sink.fail(503, 'No upstream server is available.');
      else if (this.#lastOutcome === 'timeout')
        this.#sink.fail(504, 'The upstream server did not answer in time.');
      else this.#sink.fail(502, 'No upstream server answered.');
      return;
    }
    this.#upstream = upstream;
    const source = this.#request.source;
    const note = this.#forwarder.options.noteUpstream;
    if (note !== undefined && source !== undefined) note(source, upstream.id);
    group.begin(upstream);
    this.#startedAt = performance.now();
    const request = this.#request;
    const base = upstream.url.pathname;
    const path =
      this.#route !== undefined
        ? this.#route.upstreamPath(request.url, base)
        : base === '/'
          ? request.url
          : `${base.replace(/\/$/, '')}${request.url}`;
    let headers = request.headers;
    if (this.#forwarder.options.host === 'upstream') headers = withHost(headers, upstream.url.host);
    this.#forwarder
      .pool(upstream)
      .dispatch({ path, method: request.method, headers, body: request.body, blocking: false }, this);
  }

  #cancel(): void {
    if (this.#finished) return;
    this.#clientGone = true;
    this.#abort?.(new Error('client closed the connection'));
  }

  // --- undici's handler (its callback form) ---

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.#clientGone) abort(new Error('client closed the connection'));
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    // 1xx (100-continue, 103 Early Hints): node answered the client's expectation itself.
    if (status < 200) return true;
    const head = forwardResponseHeaders(raw, this.#forwarder.rewrite.via);
    if (Number.isNaN(head.length)) {
      // A Content-Length list ("5, 5"): one length or none is relayed, never a guess; a transfer
      // coding besides chunked (nginx: "unknown Transfer-Encoding") is not relayed either.
      this.#abort?.(new BadUpstreamResponse('the upstream sent framing the proxy cannot relay'));
      return false;
    }
    this.#headSent = true;
    this.#status = status;
    return this.#sink.start(status, statusText, head, resume);
  }

  onData(chunk: Buffer): boolean {
    return this.#sink.write(chunk);
  }

  onComplete(): void {
    if (this.#finished) return;
    this.#finished = true;
    // A 5xx answer is relayed as it came; the group counts it as a failure only when its
    // failOn lists 'server-error' (Caddy's unhealthy_status).
    const seconds = this.#settle(this.#status >= 500 ? 'server-error' : 'ok');
    this.#forwarder.options.metrics?.upstreamFinished(
      this.#group.name,
      this.#upstream!.id,
      this.#status,
      seconds,
    );
    this.#sink.end();
  }

  onError(err: Error): void {
    if (this.#finished) return;
    const upstream = this.#upstream!;
    const request = this.#request;
    if (this.#clientGone) {
      this.#finished = true;
      this.#settle('ok');
      return;
    }
    if (err instanceof BodyTooLarge) {
      this.#finished = true;
      this.#settle('ok');
      if (!this.#headSent) this.#sink.fail(413, 'The request body is too large.');
      else this.#sink.cut();
      return;
    }
    if ((err as { code?: string }).code === 'UND_ERR_INVALID_ARG') {
      // A request undici will not send (a target or header value it refuses): the client's
      // fault, not the upstream's.
      this.#finished = true;
      this.#settle('ok');
      if (!this.#headSent) this.#sink.fail(400, 'The request cannot be forwarded.');
      else this.#sink.cut();
      return;
    }
    const outcome = outcomeOf(err);
    this.#lastOutcome = outcome;
    this.#settle(outcome);
    const forwarder = this.#forwarder;
    forwarder.options.metrics?.upstreamFailed(this.#group.name, upstream.id, outcome);
    this.#tried ??= new Set();
    const tried = this.#tried;
    tried.add(upstream);
    // The group's policy: idempotent methods, after a connect error, a reset or a timeout
    // before the response head, bounded in count and time (src/proxy/balance/retry.ts).
    if (
      !this.#headSent &&
      request.replayable &&
      this.#group.canRetry(request.method, outcome, tried.size, this.#first, performance.now())
    ) {
      forwarder.options.log.info(
        {
          group: this.#group.name,
          upstream: upstream.id,
          err: { code: (err as { code?: string }).code, message: err.message },
        },
        'proxy: retrying on another upstream',
      );
      this.#abort = undefined;
      this.run();
      return;
    }
    this.#finished = true;
    forwarder.options.log.warn(
      {
        group: this.#group.name,
        upstream: upstream.id,
        outcome,
        method: request.method,
        url: request.url,
        err: { code: (err as { code?: string }).code, message: err.message },
      },
      this.#headSent ? 'proxy: upstream failed mid-response' : 'proxy: upstream failed',
    );
    if (this.#headSent) this.#sink.cut();
    else if (outcome === 'timeout') this.#sink.fail(504, 'The upstream server did not answer in time.');
    else this.#sink.fail(502, 'The upstream server failed to answer.');
  }

  /** Reports the attempt's end to the group; returns its duration in seconds. */
  #settle(outcome: Outcome): number {
    const ms = performance.now() - this.#startedAt;
    this.#group.end(this.#upstream!, outcome, ms);
    return ms / 1000;
  }
}
