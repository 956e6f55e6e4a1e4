import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { type TLSSocket, Server as TlsServer } from 'node:tls';
import type { Logger } from '../observe/logger.ts';
import type { AddressList } from './client-address.ts';
import { peerKey } from './edge-policy.ts';
import { currentResponse, tlsParent } from './node-internals.ts';

const kSecure = Symbol('strata.guard.secure');
/** A TCP connection under TLS knows its TLS socket once the handshake is done. */
type GuardedSocket = Socket & { [kSecure]?: TLSSocket };

/**
 * The server's connections: every socket is remembered (for the drain and the shutdown
 * deadline), counted per client address (`maxConnectionsPerIp`: an IPv6 peer by its /64, a
 * trusted proxy not at all), and swept while the server drains.
 *
 * Connections that have not sent a byte yet (browser preconnects) are not "idle" to node's
 * closeIdleConnections, and would hold a graceful shutdown for the whole shutdownTimeout: the
 * sweep closes them too, once they stayed quiet for `drainGrace`.
 *
 * On a TLS server the TCP connection is counted as it is accepted (a handshake flood meets
 * `maxConnectionsPerIp` too); once it is secure, the drain reads and closes its TLS socket, which
 * is the one HTTP (node's and the fast lane's) runs on.
 */
export class ConnectionGuard {
  readonly sockets = new Set<Socket>();
  readonly #perIp = new Map<string, number>();
  readonly #maxPerIp: number;
  readonly #trusted: AddressList;
  readonly #log: Logger;
  readonly #drainGrace: number;
  /** Whether a response is under way on a socket node's http does not own (the fast lane's). */
  readonly #busyElsewhere: (socket: Socket) => boolean;
  readonly #quietSince = new Map<Socket, { at: number; bytesRead: number }>();
  #sweep: NodeJS.Timeout | undefined;
  /** Set while the shutdown waits for the last sockets' 'close'. */
  #allClosed: (() => void) | undefined;

  constructor(options: {
    maxPerIp: number;
    trusted: AddressList;
    log: Logger;
    drainGrace: number;
    busyElsewhere?: ((socket: Socket) => boolean) | undefined;
  }) {
    this.#maxPerIp = options.maxPerIp;
    this.#trusted = options.trusted;
    this.#log = options.log;
    this.#drainGrace = options.drainGrace;
    this.#busyElsewhere = options.busyElsewhere ?? (() => false);
  }

  /** Listens for the server's connections (after the fast lane, which takes them first). */
  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.#accept(socket));
    if (server instanceof TlsServer) {
      server.on('secureConnection', (secure: TLSSocket) => {
        const tcp = tlsParent(secure) as GuardedSocket | null;
        if (tcp !== null) tcp[kSecure] = secure;
      });
    }
  }

  #accept(socket: Socket): void {
    this.sockets.add(socket);
    const address = socket.remoteAddress ?? '';
    const maxPerIp = this.#maxPerIp;
    // (`trusted.has` parses the address: not for every connection when no proxy is trusted.)
    const peer =
      maxPerIp > 0 && (this.#trusted.size === 0 || !this.#trusted.has(address)) ? peerKey(address) : '';
    let counted = false;
    if (peer !== '') {
      const count = (this.#perIp.get(peer) ?? 0) + 1;
      if (count > maxPerIp) {
        this.#log.debug({ peer, count }, 'connection over maxConnectionsPerIp closed');
        socket.destroy();
      } else {
        this.#perIp.set(peer, count);
        counted = true;
      }
    }
    socket.once('close', () => {
      this.sockets.delete(socket);
      if (this.sockets.size === 0 && this.#allClosed !== undefined) this.#allClosed();
      if (!counted) return;
      const count = this.#perIp.get(peer) ?? 1;
      if (count <= 1) this.#perIp.delete(peer);
      else this.#perIp.set(peer, count - 1);
    });
  }

  /**
   * The drain: closes a connection that is idle (no response under way) or unused only once it
   * has stayed so, with no byte read, for drainGrace — closing at once races a request the
   * client may be sending on it at that moment, and the client would see a reset instead of an
   * answer. Sweeps again every few ms, since a connection turns idle when a response begun
   * before the drain finishes.
   */
  startDrain(): void {
    this.#closeQuiet(Date.now());
    this.#sweep = setInterval(
      () => this.#closeQuiet(Date.now()),
      Math.max(5, Math.min(20, this.#drainGrace)),
    );
  }

  stopDrain(): void {
    clearInterval(this.#sweep);
    this.#sweep = undefined;
    this.#quietSince.clear();
  }

  #closeQuiet(now: number): void {
    for (const tcp of this.sockets) {
      const socket = (tcp as GuardedSocket)[kSecure] ?? tcp;
      if (currentResponse(socket) !== null || this.#busyElsewhere(socket)) {
        this.#quietSince.delete(socket);
        continue;
      }
      const seen = this.#quietSince.get(socket);
      if (seen === undefined || seen.bytesRead !== socket.bytesRead) {
        this.#quietSince.set(socket, { at: now, bytesRead: socket.bytesRead });
      } else if (now - seen.at >= this.#drainGrace) {
        this.#quietSince.delete(socket);
        socket.destroy();
      }
    }
  }

  /** Destroys every connection still open (the shutdown deadline). */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /** Resolves once every socket has emitted 'close', or after `ms`. */
  whenAllClosed(ms: number): Promise<void> {
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#allClosed = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
