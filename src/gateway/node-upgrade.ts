import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { badResponse } from './errors.ts';
import { callFetch, type NodeAdapterOptions, NodeServeInfo } from './node.ts';
import { NodeRequest } from './node-request.ts';
import { writeResponse } from './node-response.ts';
import type { App, ServeInfo } from './types.ts';
import type { PendingUpgrade, PubSub, UpgradeOptions, WebSocketHandlers } from './websocket.ts';
import { type HandshakeRefusal, upgradesToWebSocket } from './websocket-handshake.ts';

export type { HandshakeRefusal } from './websocket-handshake.ts';

/** What completes WebSocket handshakes for the Node gateway (strata's is `RealtimeServer`). */
export interface WebSocketAcceptor {
  /** Checks the handshake itself (version, key, Origin, draining) before the app runs. */
  vet(req: IncomingMessage): HandshakeRefusal | undefined;
  /**
   * Completes the handshake on `socket` (the app accepted). `headers` are those of the app's
   * marker response (set by middleware: a request id, a cookie), for the 101 response.
   */
  accept(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    upgrade: PendingUpgrade,
    headers: Headers,
    info: ServeInfo,
  ): void;
}

/**
 * What a server is given to take WebSocket connections (strata's is realtime's `RealtimeServer`):
 * it vets and completes handshakes, carries `publish` for the app, and closes its sockets (1001)
 * when the server drains. The server layer knows only this interface; the package entry
 * `strata-stack/server` supplies the default.
 */
export interface WebSocketEndpoint extends WebSocketAcceptor, PubSub {
  /** Closes every socket (1001) and the broker; resolves once they are closed. */
  close(): Promise<void>;
}

/** node's `shouldUpgradeCallback`: only `Upgrade: websocket` leaves the ordinary request path. */
export function isWebSocketRequest(req: IncomingMessage): boolean {
  return upgradesToWebSocket(req.headers.upgrade);
}

const NO_OPTIONS: UpgradeOptions<unknown> = Object.freeze({});

/** `ServeInfo` of an upgrade request: `upgrade` records the app's handlers and returns the marker. */
class NodeUpgradeInfo extends NodeServeInfo {
  pending: PendingUpgrade | undefined;
  marker: Response | undefined;
  readonly upgrade: (handlers: WebSocketHandlers<never>, options?: UpgradeOptions<never>) => Response;

  constructor(req: IncomingMessage, options: NodeAdapterOptions) {
    super(req, options);
    this.pending = undefined;
    this.marker = undefined;
    this.upgrade = (handlers, options) => {
      if (handlers === null || typeof handlers !== 'object' || typeof handlers.message !== 'function') {
        throw new TypeError(
          'c.upgrade(handlers): handlers must be an object with a message(ws, data) function',
        );
      }
      this.pending = {
        handlers: handlers as WebSocketHandlers<unknown>,
        options: (options ?? NO_OPTIONS) as UpgradeOptions<unknown>,
      };
      // Fetch forbids status 101 in a constructed Response: the marker is an empty 200 that is
      // never written; its headers (set by middleware) go into the 101.
      const marker = new Response(null, { status: 200 });
      this.marker = marker;
      return marker;
    };
  }
}

// The status a handshake was refused with on each socket, for the report of how it ended.
const refusedWith = new WeakMap<Duplex, number>();

/** Writes a refusal straight to the socket (nothing has been read past the head) and closes it. */
export function refuseHandshake(socket: Duplex, refusal: HandshakeRefusal): void {
  refusedWith.set(socket, refusal.status);
  // node removed its own error listener at the upgrade: a reset during the answer must not throw.
  if (!socket.listeners('error').includes(ignore)) socket.on('error', ignore);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${refusal.message}\n`;
  let head = `HTTP/1.1 ${refusal.status} ${statusText(refusal.status)}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  if (refusal.headers !== undefined)
    for (const k in refusal.headers) head += `${k}: ${refusal.headers[k]}\r\n`;
  socket.end(`${head}\r\n${body}`);
}

function statusText(status: number): string {
  switch (status) {
    case 400:
      return 'Bad Request';
    case 403:
      return 'Forbidden';
    case 413:
      return 'Content Too Large';
    case 426:
      return 'Upgrade Required';
    case 503:
      return 'Service Unavailable';
    default:
      return 'Error';
  }
}

function ignore(): void {}

function discardBody(response: Response): void {
  try {
    response.body?.cancel().catch(ignore);
  } catch {
    // A body already used or locked: nothing to release.
  }
}

// node:http sockets allow half-open connections: a client that leaves while the app decides
// only ends its side. Nothing more can come from it, so close ours (and `request.signal` aborts).
function destroyOnEnd(this: Duplex): void {
  this.destroy();
}

/**
 * Turns a strata app into a node `upgrade` listener. The handshake is vetted first; then the
 * app runs like for any request (its middleware can refuse with 401/403). If it returns the
 * response of `info.upgrade(...)`, `acceptor` completes the handshake; any other response is
 * written to the socket, which is then closed — except a successful (2xx) one, which means the
 * route has no WebSocket handler: that is a `400` (RFC 6455 §4.2.2), never a `200` a client
 * could take for an accepted handshake. `ended`, when given, is told once how the handshake
 * ended: `101`, the refusal's or the response's status, or `499` when the client left first.
 *
 * @example
 * server.on('upgrade', createNodeUpgradeHandler(app, gatewayOptions, realtime));
 */
export function createNodeUpgradeHandler(
  app: App,
  options: NodeAdapterOptions,
  acceptor: WebSocketAcceptor,
): (req: IncomingMessage, socket: Duplex, head: Buffer, ended?: (status: number) => void) => void {
  const onError = options.onError;
  const failed = (req: IncomingMessage, res: ServerResponse, err: unknown): void => onError(err, req, res);
  return function strataUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    ended?: (status: number) => void,
  ): void {
    // Until a WebSocket owns it, a reset socket must not crash the process.
    socket.on('error', ignore);
    // An upgrade pipelined behind a request whose response is still being written: the socket
    // is that response's until it ends (assigning it again threw, uncaught, and took the
    // process down; a refusal written now would land inside that response). Start over once
    // node has let go of the socket.
    const pending = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (pending != null) {
      // That response may never finish (a stream the client left, an error): node stopped
      // watching this socket at the upgrade, so a client that leaves must end the wait here, or
      // the socket, its slot in flight and its per-IP count are held for ever (and a graceful
      // shutdown with them). A client that ends its side cannot use a WebSocket: close.
      const resume = (): void => {
        socket.off('close', gone);
        socket.off('end', destroyOnEnd);
        setImmediate(() => {
          socket.off('error', ignore);
          if (!socket.destroyed) strataUpgrade(req, socket, head, ended);
          else ended?.(499);
        });
      };
      const gone = (): void => {
        pending.off('finish', resume);
        socket.off('end', destroyOnEnd);
        ended?.(499);
      };
      pending.once('finish', resume);
      socket.once('close', gone);
      socket.on('end', destroyOnEnd);
      return;
    }
    let reported = ended === undefined;
    const report = (status: number): void => {
      if (reported) return;
      reported = true;
      ended!(status);
    };
    socket.on('end', destroyOnEnd);
    const refusal = acceptor.vet(req);
    if (refusal !== undefined) {
      refuseHandshake(socket, refusal);
      report(refusal.status);
      return;
    }
    // A ServerResponse on the raw socket: refusals go out through the ordinary response writer,
    // and `request.signal` aborts if the client leaves while the app decides.
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    res.once('finish', () => {
      if (!socket.destroyed) (socket as Socket).destroySoon();
    });
    // The app answered (or failed, or the client left): the response's status, or 499.
    res.once('close', () => report(res.headersSent ? res.statusCode : 499));
    const info = new NodeUpgradeInfo(req, options);
    const request = new NodeRequest(req, res, options) as Request;
    const settle = (result: unknown): void => {
      if (!(result instanceof Response)) {
        onError(badResponse(result), req, res);
        return;
      }
      const pending = info.pending;
      if (pending !== undefined && result === info.marker) {
        res.detachSocket(socket as Socket);
        socket.off('error', ignore);
        socket.off('end', destroyOnEnd);
        if (socket.destroyed) {
          report(499);
          return;
        }
        try {
          acceptor.accept(req, socket, head, pending, result.headers, info);
        } catch (err) {
          socket.destroy();
          report(500);
          onError(err, req, res);
          return;
        }
        // The acceptor completes the handshake synchronously (a 101 and the socket stays open),
        // or refuses it (a refusal, or the WebSocket library's own 400, ends the socket).
        const refused = refusedWith.get(socket);
        if (refused !== undefined) report(refused);
        else if (socket.destroyed && !socket.writableEnded) report(499);
        else report(socket.writableEnded ? 400 : 101);
        return;
      }
      let answer: Response = result;
      if (answer.status < 300) {
        // RFC 6455 §4.2.2: a handshake the server does not accept gets an error status. The app
        // answered as for a plain GET: this route has no WebSocket handler.
        discardBody(answer);
        answer = new Response('This route does not accept WebSocket connections\n', {
          status: 400,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
        });
      }
      try {
        writeResponse(answer, req, res, onError);
      } catch (err) {
        onError(err, req, res);
      }
    };
    callFetch(app, request, info, req, res, (_req, _res, result) => settle(result), failed);
  };
}
