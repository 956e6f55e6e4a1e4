import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ResponseHead } from './headers.ts';
import { PROBLEM_TYPE, problemBody, type ResponseSink } from './sink.ts';

/**
 * What the proxy needs of the fast lane's exchange (src/server/h1/lane.ts): the socket is the
 * proxy's to write the response on, and `wroteRaw` tells the lane it is done.
 */
export interface RawExchange {
  readonly keepAlive: boolean;
  /** A header the server adds to every response unless it is there (the access log's request id). */
  readonly extraHeader: readonly [name: string, line: string] | undefined;
  once(event: 'close', listener: () => void): unknown;
  /** A node response on the socket, for what the proxy does not write itself (its errors). */
  bridge(closing: boolean): ServerResponse;
  /** The response was written straight to the socket: the lane reads on (or closes). */
  wroteRaw(status: number, bytes: number, keepAlive: boolean, writable: boolean): void;
}

const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';

/**
 * Writes an upstream's response straight to the client's socket, without node's
 * ServerResponse: the head in one write, the body as it comes (chunked for HTTP/1.1 when the
 * upstream gave no length, close-delimited for HTTP/1.0), pausing the upstream while the
 * socket's buffer is full. Errors before the head go out on a bridged node response.
 */
export class SocketSink implements ResponseSink {
  readonly #exchange: RawExchange;
  readonly #socket: Socket;
  readonly #method: string;
  readonly #minor: 0 | 1;
  /** Whether the server drains (read when the head is written: the drain may begin meanwhile). */
  readonly #closing: () => boolean;
  readonly #fixed: readonly (readonly [string, string])[] | undefined;
  #keepAlive = false;
  #chunked = false;
  #status = 0;
  #bytes = 0;
  #writable = true;
  #resume: (() => void) | undefined = undefined;
  #corked = false;

  /**
   * `fixed`: header lines every response of the server carries (`Strict-Transport-Security` over
   * TLS, lowercase names), written unless the upstream sent the field itself.
   */
  constructor(
    exchange: RawExchange,
    socket: Socket,
    method: string,
    minor: 0 | 1,
    closing: () => boolean,
    fixed?: readonly (readonly [string, string])[],
  ) {
    this.#exchange = exchange;
    this.#socket = socket;
    this.#method = method;
    this.#minor = minor;
    this.#closing = closing;
    this.#fixed = fixed;
  }

  readonly #onDrain = (): void => {
    this.#writable = true;
    const resume = this.#resume;
    if (resume !== undefined) resume();
  };

  start(status: number, statusText: string, head: ResponseHead, resume: () => void): boolean {
    this.#status = status;
    this.#resume = resume;
    // RFC 9110 §6.4.1: no body after HEAD, 204, 304.
    const bodiless = this.#method === 'HEAD' || status === 204 || status === 304;
    let keepAlive = this.#exchange.keepAlive && !this.#closing();
    let framing = '';
    if (!bodiless && head.length < 0) {
      // RFC 9112 §6.1: an HTTP/1.0 client knows no chunked coding: the body ends with the connection.
      if (this.#minor === 1) {
        this.#chunked = true;
        framing = 'transfer-encoding: chunked\r\n';
      } else keepAlive = false;
    }
    this.#keepAlive = keepAlive;
    let text = `HTTP/1.1 ${status} ${statusText === '' ? (STATUS_CODES[status] ?? 'unknown') : statusText}\r\n`;
    const headers = head.headers;
    const extra = this.#exchange.extraHeader;
    const extraName = extra === undefined ? '' : extra[0].toLowerCase();
    let extraLine = extra === undefined ? '' : extra[1];
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if (name.length === extraName.length && name.toLowerCase() === extraName) extraLine = '';
      text += `${name}: ${headers[i + 1]}\r\n`;
    }
    if (this.#fixed !== undefined) text += fixedLines(this.#fixed, headers);
    text += `${extraLine}${framing}connection: ${keepAlive ? 'keep-alive' : 'close'}\r\n\r\n`;
    const socket = this.#socket;
    if (!socket.writable) return true;
    socket.on('drain', this.#onDrain);
    // The head and a body that arrived with it (undici calls onHeaders, onData and onComplete
    // from one read) leave in one writev, not a syscall each.
    socket.cork();
    this.#corked = true;
    process.nextTick(uncorkSink, this);
    const ok = socket.write(text, 'latin1');
    this.#writable = ok;
    return ok;
  }

  /** Lets corked writes go. */
  uncork(): void {
    if (!this.#corked) return;
    this.#corked = false;
    this.#socket.uncork();
  }

  write(chunk: Buffer): boolean {
    const socket = this.#socket;
    this.#bytes += chunk.length;
    let ok: boolean;
    if (this.#chunked) {
      socket.cork();
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      ok = socket.write(CRLF, 'latin1');
      socket.uncork();
    } else ok = socket.write(chunk);
    // A full buffer while corked: let it go, or the drain that resumes the upstream never comes.
    if (!ok) this.uncork();
    this.#writable = ok;
    return ok;
  }

  end(): void {
    const socket = this.#socket;
    socket.off('drain', this.#onDrain);
    if (this.#chunked) this.#writable = socket.write(LAST_CHUNK, 'latin1');
    this.uncork();
    this.#exchange.wroteRaw(
      this.#status,
      this.#bytes,
      this.#keepAlive,
      this.#writable || socket.writableLength === 0,
    );
  }

  fail(status: number, detail: string): void {
    const res = this.#exchange.bridge(this.#closing());
    const body = problemBody(status, detail);
    res.writeHead(status, { 'content-type': PROBLEM_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  cut(): void {
    this.uncork();
    this.#socket.off('drain', this.#onDrain);
    // The head went out: the exchange ends with what was sent (as node's path logs it), not as a
    // client that left (499).
    if (this.#status !== 0) this.#exchange.wroteRaw(this.#status, this.#bytes, false, true);
    this.#socket.destroy();
  }

  onAbort(abort: () => void): void {
    this.#exchange.once('close', abort);
  }
}

/** The server's fixed header lines the upstream's `headers` do not already have. */
function fixedLines(fixed: readonly (readonly [string, string])[], headers: readonly string[]): string {
  let text = '';
  for (const [name, value] of fixed) {
    let own = false;
    for (let i = 0; i < headers.length && !own; i += 2) own = headers[i]!.toLowerCase() === name;
    if (!own) text += `${name}: ${value}\r\n`;
  }
  return text;
}

function uncorkSink(sink: SocketSink): void {
  sink.uncork();
}
