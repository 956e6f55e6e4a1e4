/**
 * Server-sent events (WHATWG HTML §9.2): a `text/event-stream` response whose events are
 * written one chunk each, so that a server that compresses or proxies flushes every event.
 */

/** One event. `data` may span lines; objects are sent as JSON. */
export interface SSEMessage {
  data: string | object | number | boolean | null;
  /** The event type (`addEventListener(event, …)` on the client); `message` when absent. */
  event?: string;
  /** The id the browser sends back as `Last-Event-ID` when it reconnects. */
  id?: string;
  /** How long the browser waits before reconnecting, in ms. */
  retry?: number;
}

/** Options of `c.sse()`. */
export interface SSEOptions {
  /** Sends a `: heartbeat` comment this often, in ms, so that proxies keep the stream open (0 = off). Default 15000. */
  heartbeat?: number;
  /** Extra response headers. */
  headers?: Record<string, string>;
}

/** Defaults of `c.sse()`; docs/realtime.md shows the same. */
export const SSE_DEFAULTS = { heartbeat: 15_000 } as const;

const encoder = new TextEncoder();
const HEARTBEAT = encoder.encode(': heartbeat\n\n');

function noNewline(field: string, value: string): string {
  // §9.2.6: a field value ends at CR or LF; one inside would start a forged field.
  if (/[\r\n\0]/.test(value))
    throw new TypeError(`SSE ${field} must not contain CR, LF or NUL: ${JSON.stringify(value)}`);
  return value;
}

/** The wire form of one event. */
export function formatEvent(message: SSEMessage): string {
  let out = '';
  if (message.event !== undefined) out += `event: ${noNewline('event', message.event)}\n`;
  if (message.id !== undefined) out += `id: ${noNewline('id', message.id)}\n`;
  if (message.retry !== undefined) {
    if (!Number.isInteger(message.retry) || message.retry < 0)
      throw new TypeError(`SSE retry must be a non-negative integer, got ${message.retry}`);
    out += `retry: ${message.retry}\n`;
  }
  const data = typeof message.data === 'string' ? message.data : JSON.stringify(message.data);
  for (const line of data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/**
 * The stream a `c.sse()` callback writes to. `send` resolves when the event is queued (it waits
 * while the client reads slowly); after the client leaves, `closed` is true, `signal` has
 * aborted, and `send` resolves without writing.
 */
export class SSEStream {
  /** The `Last-Event-ID` the browser sent when it reconnected, for resuming; undefined on a first connect. */
  readonly lastEventId: string | undefined;
  /** Aborts when the client leaves or the stream is closed. */
  readonly signal: AbortSignal;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #abort: AbortController;
  #wake: (() => void) | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(lastEventId: string | undefined, requestSignal: AbortSignal | undefined) {
    this.lastEventId = lastEventId;
    this.#abort = new AbortController();
    this.signal = this.#abort.signal;
    this.#controller = undefined;
    this.#wake = undefined;
    this.#timer = undefined;
    if (requestSignal !== undefined) {
      if (requestSignal.aborted) this.#abort.abort(requestSignal.reason);
      else requestSignal.addEventListener('abort', () => this.close(), { once: true, signal: this.signal });
    }
  }

  get closed(): boolean {
    return this.signal.aborted;
  }

  /** Writes one event (one chunk). */
  send(message: SSEMessage): Promise<void> {
    return this.#write(encoder.encode(formatEvent(message)));
  }

  /** Writes a comment line (ignored by browsers; keeps intermediaries from timing out). */
  comment(text = ''): Promise<void> {
    return this.#write(encoder.encode(`: ${noNewline('comment', text)}\n\n`));
  }

  /** Resolves after `ms`, or at once when the client leaves. */
  sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Ends the response. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    const controller = this.#controller;
    this.#controller = undefined;
    if (!this.signal.aborted)
      this.#abort.abort(new DOMException('The event stream was closed', 'AbortError'));
    this.#wake?.();
    if (controller !== undefined) {
      try {
        controller.close();
      } catch {
        // Already closed or cancelled by the reader: nothing left to end.
      }
    }
  }

  /** @internal Wires the stream to its response body. */
  attach(controller: ReadableStreamDefaultController<Uint8Array>, heartbeat: number): void {
    this.#controller = controller;
    if (heartbeat > 0) {
      this.#timer = setInterval(() => {
        const c = this.#controller;
        if (c !== undefined && (c.desiredSize ?? 0) > 0) c.enqueue(HEARTBEAT);
      }, heartbeat);
      // Node's timers can be unref'd (Deno's and browsers' are numbers): portable either way.
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  /** @internal The reader wants more. */
  pulled(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** @internal The handler failed: end the response as truncated. */
  fail(error: unknown): void {
    const controller = this.#controller;
    this.#controller = undefined;
    if (controller !== undefined) {
      try {
        controller.error(error);
      } catch {
        // Already closed.
      }
    }
    this.close();
  }

  async #write(chunk: Uint8Array): Promise<void> {
    const controller = this.#controller;
    if (controller === undefined || this.closed) return;
    controller.enqueue(chunk);
    // Backpressure: hold the writer until the reader has taken what is queued.
    if ((controller.desiredSize ?? 1) <= 0) await new Promise<void>((resolve) => (this.#wake = resolve));
  }
}

/**
 * Builds the `text/event-stream` response of `c.sse()`; `run` writes to the stream, which closes
 * when it returns (or the client leaves). An error `run` throws ends the response as truncated
 * (the server logs it).
 */
export function sseResponse(
  request: Request,
  run: (stream: SSEStream) => void | Promise<void>,
  options: SSEOptions = {},
): Response {
  const heartbeat = options.heartbeat ?? SSE_DEFAULTS.heartbeat;
  if (!Number.isInteger(heartbeat) || heartbeat < 0)
    throw new TypeError(`c.sse(): heartbeat must be a non-negative integer (ms), got ${heartbeat}`);
  const stream = new SSEStream(request.headers.get('last-event-id') ?? undefined, request.signal);
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        stream.attach(controller, heartbeat);
        // After start: the response is returned (headers go out) before the first event.
        queueMicrotask(() => {
          let result: void | Promise<void>;
          try {
            result = run(stream);
          } catch (err) {
            stream.fail(err);
            return;
          }
          if (result instanceof Promise)
            result.then(
              () => stream.close(),
              (err: unknown) => stream.fail(err),
            );
          else stream.close();
        });
      },
      pull() {
        stream.pulled();
      },
      cancel() {
        stream.close();
      },
    },
    { highWaterMark: 16 },
  );
  const headers: Record<string, string> = {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    // nginx buffers proxied responses unless told not to.
    'x-accel-buffering': 'no',
    ...options.headers,
  };
  return new Response(body, { status: 200, headers });
}
