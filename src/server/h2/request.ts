import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { IncomingHttpHeaders as Http2Headers, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';

type Listener = Parameters<ServerHttp2Stream['off']>[1];

/**
 * An HTTP/2 request as the server's HTTP/1 parts read one (the edge policy, the gateway's lazy
 * `Request`, the access log, metrics): shaped like node's IncomingMessage where they look, with
 * the body read from the stream on demand. The pseudo-headers become what HTTP/1.1 carries:
 * `:method` the method, `:path` the target, `:authority` the Host line (RFC 9113 §8.3.1).
 */
export class H2Request {
  readonly method: string;
  readonly url: string;
  /** The header lines without pseudo-headers, with `:authority` as `host` (see `http1RawHeaders`). */
  readonly rawHeaders: string[];
  readonly headers: IncomingHttpHeaders;
  readonly httpVersionMajor = 2;
  readonly httpVersionMinor = 0;
  readonly httpVersion = '2.0';
  readonly socket: Socket;
  readonly stream: ServerHttp2Stream;
  /** Whether DATA frames follow the HEADERS (no END_STREAM on them): a body, with or without Content-Length. */
  readonly bodyFollows: boolean;
  /** Whether the whole body has arrived (at once when there is none). */
  complete: boolean;
  /** The access log's id for this request, once it gave one. */
  strataRequestId: string | undefined = undefined;

  constructor(stream: ServerHttp2Stream, headers: Http2Headers, rawHeaders: string[], socket: Socket) {
    this.stream = stream;
    this.socket = socket;
    this.method = headers[':method'] ?? '';
    // No :path (CONNECT, RFC 9113 §8.5): an empty target, which the edge policy answers 400.
    this.url = headers[':path'] ?? '';
    this.rawHeaders = http1RawHeaders(rawHeaders);
    const authority = headers[':authority'];
    if (headers.host === undefined && authority !== undefined) headers.host = authority;
    this.headers = headers as IncomingHttpHeaders;
    this.bodyFollows = !stream.endAfterHeaders;
    this.complete = !this.bodyFollows;
    if (this.bodyFollows) stream.once('end', () => (this.complete = true));
  }

  get connection(): Socket {
    return this.socket;
  }

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  get readableFlowing(): boolean | null {
    return this.bodyFollows ? this.stream.readableFlowing : null;
  }

  // The body is the stream's readable side: what the gateway's body reader calls, passed on.
  on(event: string, listener: Listener): this {
    this.stream.on(event, listener);
    return this;
  }

  once(event: string, listener: Listener): this {
    this.stream.once(event, listener);
    return this;
  }

  off(event: string, listener: Listener): this {
    this.stream.off(event, listener);
    return this;
  }

  removeAllListeners(event: string): this {
    // Only the body's data listeners are the reader's to remove: node's own are on other events.
    if (event === 'data') this.stream.removeAllListeners('data');
    return this;
  }

  pause(): this {
    this.stream.pause();
    return this;
  }

  resume(): this {
    this.stream.resume();
    return this;
  }
}

/**
 * HTTP/2 header lines as HTTP/1.1 would carry them: pseudo-headers dropped, `:authority` first
 * as `host`. A `host` line the client sent as well is dropped when it names the same authority,
 * and kept when it names another, so that the edge policy answers the request 400 (RFC 9113
 * §8.3.1: a server SHOULD treat it as malformed).
 */
export function http1RawHeaders(raw: string[]): string[] {
  const out: string[] = [];
  let authority: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (name === ':authority') {
        authority = raw[i + 1]!;
        out.unshift('host', authority);
      }
      continue;
    }
    if (name === 'host' && authority !== undefined && raw[i + 1]!.toLowerCase() === authority.toLowerCase())
      continue;
    out.push(name, raw[i + 1]!);
  }
  return out;
}

/**
 * Whether a request arrived on an HTTP/2 stream (this class, or node's compatibility request),
 * and not on an HTTP/1 connection whose request line claims version 2 (which gets 505).
 */
export function onHttp2Stream(req: IncomingMessage): boolean {
  return req.httpVersionMajor === 2 && (req as { stream?: unknown }).stream !== undefined;
}
