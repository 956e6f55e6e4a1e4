import { Readable } from 'node:stream';
import type { ServeInfo } from '../gateway/types.ts';
import { createLogger, type Logger } from '../observe/logger.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { PickContext, UpstreamGroup } from './balance/index.ts';
import { BodyTooLarge, Forwarder } from './forwarder.ts';
import { type ForwardingHeaders, forwardRequestHeaders, type ResponseHead } from './headers.ts';
import { type ProxyOptions, resolveProxyOptions } from './options.ts';
import { PROBLEM_TYPE, problemBody, type ResponseSink } from './sink.ts';

/** Options of `proxy(group, options)`: the proxy's timeouts and rewriting, and a few of its own. */
export interface ProxyHandlerOptions extends Omit<ProxyOptions, 'groups' | 'routes'> {
  /** Removed from the start of the path before forwarding (`/api` makes `/api/users` `/users`). */
  readonly stripPrefix?: string;
  /** Which forwarding headers to write; default both `X-Forwarded-*` and `Forwarded`. */
  readonly forwarding?: ForwardingHeaders;
  /**
   * Keep the request's own `X-Forwarded-For`/`Forwarded` and append to them (set it when the
   * server's `trustProxy` vouches for them); default false: they are replaced.
   */
  readonly keepForwarded?: boolean;
  /** Largest request body forwarded, in bytes (413 beyond); default 1 MiB. */
  readonly maxBodySize?: number;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
}

/** What the handler is called with: a strata context (`c.req`, `c.info`), or a Request and its ServeInfo. */
export interface ProxyCallContext {
  readonly req: Request;
  readonly info?: ServeInfo | undefined;
}

class WebPick implements PickContext {
  readonly remote: string;
  readonly #headers: Headers;

  constructor(remote: string, headers: Headers) {
    this.remote = remote;
    this.#headers = headers;
  }

  header(name: string): string | undefined {
    return this.#headers.get(name) ?? undefined;
  }

  cookie(name: string): string | undefined {
    const cookies = this.#headers.get('cookie');
    if (cookies === null) return undefined;
    for (const pair of cookies.split(';')) {
      const eq = pair.indexOf('=');
      if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
    }
    return undefined;
  }
}

/** The response as a web `Response`, its body a stream that pauses the upstream while unread. */
class WebSink implements ResponseSink {
  readonly response: Promise<Response>;
  #resolve!: (response: Response) => void;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined = undefined;
  #resume: (() => void) | undefined = undefined;
  #paused = false;
  #abort: (() => void) | undefined = undefined;
  readonly #method: string;

  constructor(method: string, signal: AbortSignal | undefined) {
    this.#method = method;
    this.response = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    // The request aborted: the upstream exchange is cancelled, and the response settles — never
    // left pending (nor the middleware after it): 499 (nginx's "client closed request", for the
    // record: nobody reads it) before the head came, the body ended with the abort after.
    signal?.addEventListener(
      'abort',
      () => {
        this.#abort?.();
        this.#resolve(new Response(null, { status: 499 }));
        try {
          this.#controller?.error(signal.reason);
        } catch {
          // Already closed.
        }
      },
      { once: true },
    );
  }

  start(status: number, statusText: string, head: ResponseHead, resume: () => void): boolean {
    this.#resume = resume;
    const headers = new Headers();
    const list = head.headers;
    for (let i = 0; i < list.length; i += 2) headers.append(list[i]!, list[i + 1]!);
    const bodiless = this.#method === 'HEAD' || status === 204 || status === 304;
    const body = bodiless
      ? null
      : new ReadableStream<Uint8Array>(
          {
            start: (controller) => {
              this.#controller = controller;
            },
            pull: () => {
              if (this.#paused) {
                this.#paused = false;
                this.#resume?.();
              }
            },
            cancel: () => this.#abort?.(),
          },
          { highWaterMark: 4 },
        );
    this.#resolve(new Response(body, { status, statusText, headers }));
    return true;
  }

  write(chunk: Buffer): boolean {
    const controller = this.#controller;
    if (controller === undefined) return true;
    controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if ((controller.desiredSize ?? 1) > 0) return true;
    this.#paused = true;
    return false;
  }

  end(): void {
    this.#controller?.close();
  }

  fail(status: number, detail: string): void {
    this.#resolve(
      new Response(problemBody(status, detail), { status, headers: { 'content-type': PROBLEM_TYPE } }),
    );
  }

  cut(): void {
    this.#controller?.error(new Error('the upstream failed mid-response'));
  }

  onAbort(abort: () => void): void {
    this.#abort = abort;
  }
}

/** Counts a web body, failing past `limit`. */
function limitBody(body: ReadableStream<Uint8Array>, limit: number): Readable {
  return Readable.from(
    (async function* () {
      let seen = 0;
      for await (const chunk of body) {
        seen += chunk.byteLength;
        if (seen > limit) throw new BodyTooLarge(limit);
        yield chunk;
      }
    })(),
    { objectMode: false },
  );
}

/**
 * A handler that forwards the request to `group` and answers with the upstream's response,
 * streamed: for a route of a strata app (`app.all('/api/*', proxy(group))`) or any fetch-style
 * server (`(request, info) => proxy(group)(request, info)`). The client address comes from
 * `info.remote` (the server's trusted-proxy resolution). Failures answer 502/503/504 as
 * `application/problem+json`; idempotent requests without a body are retried on another
 * upstream after a connect failure or reset.
 *
 * @example
 * import { App } from 'strata-stack';
 * import { proxy, UpstreamGroup } from 'strata-stack/proxy';
 *
 * const api = new UpstreamGroup({ upstreams: ['http://127.0.0.1:8080'] });
 * const app = new App();
 * app.all('/api/*', proxy(api, { stripPrefix: '/api' }));
 */
/** The handler `proxy()` makes; `close()` closes its upstream connections and the group's checks. */
export type ProxyHandler = ((context: ProxyCallContext | Request, info?: ServeInfo) => Promise<Response>) & {
  close(): Promise<void>;
};

export function proxy(group: UpstreamGroup, options: ProxyHandlerOptions = {}): ProxyHandler {
  const forwarder = new Forwarder({
    ...resolveProxyOptions(options, 'proxy()'),
    forwarding: options.forwarding ?? 'both',
    trusted: () => options.keepForwarded === true,
    metrics: options.metrics,
    log: options.logger ?? createLogger({ level: 'warn' }),
  });
  forwarder.use(group);
  const strip = options.stripPrefix?.replace(/\/+$/, '');
  const maxBody = options.maxBodySize ?? 1_048_576;
  const handler = async (context: ProxyCallContext | Request, given?: ServeInfo): Promise<Response> => {
    const request = context instanceof Request ? context : context.req;
    const info = context instanceof Request ? given : context.info;
    const url = new URL(request.url);
    let target = url.pathname + url.search;
    if (
      strip !== undefined &&
      strip !== '' &&
      (target === strip || target.startsWith(`${strip}/`) || target.startsWith(`${strip}?`))
    ) {
      target = target.slice(strip.length);
      if (!target.startsWith('/')) target = `/${target}`;
    }
    const raw: string[] = [];
    request.headers.forEach((value, name) => {
      raw.push(name, value);
    });
    // Headers joins repeated fields; Set-Cookie cannot be in a request.
    if (!request.headers.has('host')) raw.push('host', url.host);
    const remote = info?.remote.address ?? '';
    const headers = forwardRequestHeaders(
      raw,
      {
        address: remote,
        trusted: options.keepForwarded === true,
        proto: info?.secure === true ? 'https' : url.protocol.slice(0, -1),
      },
      forwarder.rewrite,
    );
    const length = request.headers.get('content-length');
    if (length !== null && Number(length) > maxBody)
      return new Response(problemBody(413, 'The request body is too large.'), {
        status: 413,
        headers: { 'content-type': PROBLEM_TYPE },
      });
    const body = request.body === null ? null : limitBody(request.body, maxBody);
    const sink = new WebSink(request.method, request.signal);
    forwarder.forward(
      group,
      undefined,
      {
        method: request.method,
        url: target,
        headers,
        body,
        replayable: body === null,
        pick: new WebPick(remote, request.headers),
        source: undefined,
      },
      sink,
    );
    return sink.response;
  };
  return Object.assign(handler, { close: () => forwarder.close() });
}
