import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** RFC 9113 §3.4: the client connection preface, the first 24 bytes of an HTTP/2 connection. */
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

type ConnectionListener = (this: Server, socket: Socket) => void;

function ignore(): void {
  // A reset before the first bytes: 'close' follows.
}

/**
 * h2c with prior knowledge (RFC 9113 §3.3) on the plain HTTP listener: a connection's first
 * bytes decide. The HTTP/2 preface hands the socket to `toHttp2` (the bytes put back for the
 * session to read); anything else goes to the listener that served every connection before
 * (the HTTP/1.1 fast lane, or node's http), with the bytes read so far, as the lane hands a
 * connection to node. Installed after the lane and before the connection guard, which sees every
 * connection either way. A connection that sends nothing for `headersTimeout` is closed, as the
 * HTTP/1.1 listener would close it.
 */
export function routePriorKnowledge(
  server: Server,
  toHttp2: (socket: Socket) => void,
  headersTimeout: number,
): void {
  const listeners = server.listeners('connection') as ConnectionListener[];
  for (const listener of listeners) server.off('connection', listener);
  const toHttp1 = (socket: Socket, seen: Buffer): void => {
    for (const listener of listeners) listener.call(server, socket);
    if (socket.isPaused()) socket.resume();
    socket.emit('data', seen);
  };
  server.on('connection', (socket: Socket) => new PrefaceSniffer(socket, toHttp1, toHttp2, headersTimeout));
}

/** Reads a connection's first bytes until they are, or cannot be, the HTTP/2 preface. */
class PrefaceSniffer {
  readonly #socket: Socket;
  readonly #toHttp1: (socket: Socket, seen: Buffer) => void;
  readonly #toHttp2: (socket: Socket) => void;
  #seen: Buffer | undefined = undefined;

  constructor(
    socket: Socket,
    toHttp1: (socket: Socket, seen: Buffer) => void,
    toHttp2: (socket: Socket) => void,
    headersTimeout: number,
  ) {
    this.#socket = socket;
    this.#toHttp1 = toHttp1;
    this.#toHttp2 = toHttp2;
    socket.on('data', this.#onData);
    socket.on('error', ignore);
    if (headersTimeout > 0) socket.setTimeout(headersTimeout, this.#onTimeout);
  }

  readonly #onData = (chunk: Buffer): void => {
    const seen = this.#seen === undefined ? chunk : Buffer.concat([this.#seen, chunk]);
    const n = Math.min(seen.length, CLIENT_PREFACE.length);
    const http2 = seen.compare(CLIENT_PREFACE, 0, n, 0, n) === 0;
    if (http2 && n < CLIENT_PREFACE.length) {
      this.#seen = seen;
      return;
    }
    const socket = this.#socket;
    this.#release();
    if (!http2) {
      this.#toHttp1(socket, seen);
      return;
    }
    // The session reads what is buffered on the socket before its first read from the handle.
    socket.pause();
    socket.unshift(seen);
    this.#toHttp2(socket);
  };

  readonly #onTimeout = (): void => {
    this.#socket.destroy();
  };

  #release(): void {
    const socket = this.#socket;
    socket.off('data', this.#onData);
    socket.off('error', ignore);
    socket.setTimeout(0);
    socket.off('timeout', this.#onTimeout);
  }
}
