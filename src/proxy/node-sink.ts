import type { ServerResponse } from 'node:http';
import type { ResponseHead } from './headers.ts';
import { PROBLEM_TYPE, problemBody, type ResponseSink } from './sink.ts';

/**
 * Relays an upstream's response through a node `ServerResponse` (requests node's parser read:
 * bodies that did not arrive with their head, chunked uploads, anything the fast lane declined).
 * node frames the body (its length, or chunked); `drain` resumes the upstream.
 */
export class NodeSink implements ResponseSink {
  readonly #res: ServerResponse;
  /** Whether the server drains (read when the head is written: the drain may begin meanwhile). */
  readonly #closing: () => boolean;
  #resume: (() => void) | undefined = undefined;

  constructor(res: ServerResponse, closing: () => boolean) {
    this.#res = res;
    this.#closing = closing;
  }

  readonly #onDrain = (): void => {
    this.#resume?.();
  };

  start(status: number, statusText: string, head: ResponseHead, resume: () => void): boolean {
    const res = this.#res;
    this.#resume = resume;
    if (res.destroyed) return true;
    res.on('drain', this.#onDrain);
    if (this.#closing() || unreadBody(res)) res.shouldKeepAlive = false;
    try {
      // HTTP/2 has no reason phrase (RFC 9113 §8.3.2): node warns if given one.
      const text = statusText === '' || res.req?.httpVersionMajor === 2 ? undefined : statusText;
      res.writeHead(status, text, head.headers);
      // Sends the head now (a long-polling or event-stream upstream may wait before its first byte).
      // (Not on HTTP/2's compatibility response, which sends its head on the first write.)
      (res as { flushHeaders?: () => void }).flushHeaders?.();
    } catch {
      // A value node refuses to write (the upstream's): nothing went out yet, but the
      // response object is spent; the client gets its connection closed.
      res.destroy();
      return true;
    }
    return res.writableNeedDrain === false;
  }

  write(chunk: Buffer): boolean {
    return this.#res.write(chunk);
  }

  end(): void {
    this.#res.off('drain', this.#onDrain);
    this.#res.end();
  }

  fail(status: number, detail: string): void {
    const res = this.#res;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    if (this.#closing() || unreadBody(res)) res.shouldKeepAlive = false;
    const body = problemBody(status, detail);
    res.writeHead(status, { 'content-type': PROBLEM_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  cut(): void {
    this.#res.off('drain', this.#onDrain);
    this.#res.destroy();
  }

  onAbort(abort: () => void): void {
    const res = this.#res;
    res.once('close', () => {
      if (!res.writableFinished) abort();
    });
  }
}

/**
 * The request's body is not all read (refused past the limit, or the upstream answered first):
 * as the app's path does, the connection closes after the answer, so that the rest is never
 * read to its end (nor, paused, left to hold the connection).
 */
function unreadBody(res: ServerResponse): boolean {
  return res.req?.complete === false;
}
