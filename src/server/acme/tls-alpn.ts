import type { Socket } from 'node:net';
import { createSecureContext, createServer, type SecureContext, type Server } from 'node:tls';
import { CLIENT_HELLO_MAX_BYTES, readClientHello } from './client-hello.ts';

/** RFC 8737 §6.2: the ALPN protocol of the TLS-ALPN-01 validation handshake. */
export const ACME_TLS_ALPN = 'acme-tls/1';

/** What the TLS listener asks: the challenge certificate for a name, while one is pending. */
export interface AlpnAnswers {
  /** Whether any TLS-ALPN-01 challenge is pending (no peeking at handshakes otherwise). */
  readonly alpnPending: boolean;
  /** The context with the `acmeIdentifier` certificate for `servername`, if pending. */
  alpnContext(servername: string): SecureContext | undefined;
}

/** The pending TLS-ALPN-01 challenges of this process: name → challenge certificate. */
export class AlpnChallenges implements AlpnAnswers {
  readonly #contexts = new Map<string, SecureContext>();

  /** Adds the challenge certificate (self-signed, with the acmeIdentifier extension) for `name`. */
  set(name: string, pem: { cert: string; key: string }): void {
    this.#contexts.set(name.toLowerCase(), createSecureContext({ cert: pem.cert, key: pem.key }));
  }

  delete(name: string): void {
    this.#contexts.delete(name.toLowerCase());
  }

  get alpnPending(): boolean {
    return this.#contexts.size > 0;
  }

  alpnContext(servername: string): SecureContext | undefined {
    return this.#contexts.get(servername.toLowerCase());
  }
}

/** Bounds of the peek at a ClientHello while a challenge is pending. */
const PEEK_TIMEOUT_MS = 10_000;

/**
 * A `connection` handler for the TLS listener's port that answers TLS-ALPN-01 (RFC 8737): while
 * a challenge is pending it reads the ClientHello's first record, and a handshake that offers
 * exactly `acme-tls/1` for a pending name is completed with the challenge certificate; every
 * other connection — and every connection when nothing is pending, without a read — goes to
 * `deliver` with its bytes put back (`socket.unshift`), for the real TLS server
 * (`tlsServer.emit('connection', socket)`).
 *
 * @example
 * const front = net.createServer(tlsAlpnFront(acme, (socket) => tlsServer.emit('connection', socket)));
 * front.listen(443);
 */
export function tlsAlpnFront(
  answers: AlpnAnswers,
  deliver: (socket: Socket) => void,
): (socket: Socket) => void {
  let challengeServer: Server | undefined;
  return (socket) => {
    if (!answers.alpnPending) {
      deliver(socket);
      return;
    }
    let seen: Buffer = Buffer.alloc(0);
    const stopPeeking = (): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      clearTimeout(timer);
    };
    const finish = (): void => {
      stopPeeking();
      if (socket.destroyed) return;
      socket.pause();
      const hello = readClientHello(seen);
      const context =
        typeof hello === 'object' &&
        hello.servername !== undefined &&
        hello.alpn.length === 1 &&
        hello.alpn[0] === ACME_TLS_ALPN
          ? answers.alpnContext(hello.servername)
          : undefined;
      if (seen.length > 0) socket.unshift(seen);
      if (context === undefined) {
        deliver(socket);
        return;
      }
      challengeServer ??= validationServer(answers);
      challengeServer.emit('connection', socket);
    };
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      if (readClientHello(seen) !== 'more' || seen.length >= CLIENT_HELLO_MAX_BYTES) finish();
    };
    // A client that half-closes before its hello is complete cannot finish a handshake (and its
    // bytes cannot be put back after 'end'), nor can one whose connection failed: closed here.
    const onEnd = (): void => {
      stopPeeking();
      socket.destroy();
    };
    const onError = onEnd;
    // A client that says nothing goes to the TLS server as it is, which has its own timeouts.
    const timer = setTimeout(finish, PEEK_TIMEOUT_MS);
    timer.unref();
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onError);
  };
}

/** The TLS server of the validation handshakes: the challenge certificate, `acme-tls/1` only. */
function validationServer(answers: AlpnAnswers): Server {
  const server = createServer({
    ALPNProtocols: [ACME_TLS_ALPN],
    SNICallback: (name, cb) => {
      const context = answers.alpnContext(name);
      if (context === undefined) cb(new Error('no pending TLS-ALPN-01 challenge for this name'), undefined);
      else cb(null, context);
    },
    handshakeTimeout: PEEK_TIMEOUT_MS,
  });
  // RFC 8737 §3: the validation ends with the handshake; nothing is read or written after it.
  server.on('secureConnection', (tlsSocket) => tlsSocket.end());
  server.on('tlsClientError', (_err, tlsSocket) => tlsSocket.destroy());
  return server;
}
