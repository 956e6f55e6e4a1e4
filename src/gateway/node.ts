import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { BodyEncoder } from './body-encoder.ts';
import { badResponse } from './errors.ts';
import { type NodeGatewayConfig, NodeRequest } from './node-request.ts';
import { type ErrorSink, writeResponse } from './node-response.ts';
import type { App, RemoteAddress, ServeInfo } from './types.ts';

/** A node-style handler: the "WSGI" path, passed through untouched. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Options of `createNodeHandler`: the gateway config plus the server's hooks. */
export interface NodeAdapterOptions extends NodeGatewayConfig {
  /** Called when the app throws or rejects, or its response cannot be written. */
  onError: ErrorSink;
  /** Receives every promise handed to `info.waitUntil`. */
  waitUntil(work: Promise<unknown>): void;
  /**
   * Set by the server when it starts draining: responses written from then on say
   * `Connection: close`, so that no client sends another request on a closing connection.
   */
  closing?: boolean;
  /** The client address after trusted-proxy resolution; the socket's peer when absent. */
  remote?: ((req: IncomingMessage) => RemoteAddress) | undefined;
  /** Handed each request's `ServeInfo` as it is made, so the server can read `route` later. */
  onServeInfo?: ((info: ServeInfo) => void) | undefined;
  /** Transforms response bodies on the way out (the server's compression); none by default. */
  encoder?: BodyEncoder | undefined;
  /** The id the server gave the request (its access log's), for `info.requestId`. */
  requestId?: ((req: IncomingMessage) => string | undefined) | undefined;
}

/** The `ServeInfo` of a request on node:http (exported for the upgrade path). */
export class NodeServeInfo implements ServeInfo {
  route: string | undefined;
  #req: IncomingMessage;
  #options: NodeAdapterOptions;
  #remote: RemoteAddress | undefined;

  constructor(req: IncomingMessage, options: NodeAdapterOptions) {
    this.#req = req;
    this.#options = options;
    this.#remote = undefined;
    this.route = undefined;
  }

  get remote(): RemoteAddress {
    let remote = this.#remote;
    if (remote === undefined) {
      const resolveRemote = this.#options.remote;
      if (resolveRemote !== undefined) remote = resolveRemote(this.#req);
      else {
        const socket = this.#req.socket;
        remote = {
          address: socket.remoteAddress ?? '',
          port: socket.remotePort ?? 0,
          family: (socket.remoteFamily as RemoteAddress['family'] | undefined) ?? '',
        };
      }
      this.#remote = remote;
    }
    return remote;
  }

  get protocol(): ServeInfo['protocol'] {
    return this.#req.httpVersionMajor === 2
      ? 'h2'
      : this.#req.httpVersionMinor === 0
        ? 'http/1.0'
        : 'http/1.1';
  }

  get secure(): boolean {
    const secureOf = this.#options.secureOf;
    if (secureOf !== undefined) return secureOf(this.#req);
    return (this.#req.socket as TLSSocket).encrypted === true;
  }

  get requestId(): string | undefined {
    const requestIdOf = this.#options.requestId;
    return requestIdOf === undefined ? undefined : requestIdOf(this.#req);
  }

  waitUntil(work: Promise<unknown>): void {
    this.#options.waitUntil(work);
  }
}

/**
 * Turns a strata app into a node `request` listener: a lazy `Request` in, the app's `Response`
 * written back without web streams where the body is known.
 *
 * @example
 * const handler = createNodeHandler(app, { maxBodySize: 1 << 20, secure: false,
 *   defaultHost: 'localhost', onError: console.error, waitUntil: () => {} });
 * http.createServer(handler).listen(3000);
 */
export function createNodeHandler(app: App, options: NodeAdapterOptions): NodeHandler {
  const onError = options.onError;
  const onServeInfo = options.onServeInfo;
  const settle = (req: IncomingMessage, res: ServerResponse, result: unknown): void => {
    if (result instanceof Response) {
      // The app answered before the body arrived in full (it read part of it, or none of a
      // body it left flowing): node would wait for the rest, so close the connection instead.
      if (options.closing === true || (!req.complete && req.readableFlowing !== null))
        res.shouldKeepAlive = false;
      try {
        writeResponse(result, req, res, onError, options.encoder);
      } catch (err) {
        onError(err, req, res);
      }
    } else onError(badResponse(result), req, res);
  };
  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown): void => onError(err, req, res);
  return function strataRequest(req: IncomingMessage, res: ServerResponse): void {
    const request = new NodeRequest(req, res, options) as unknown as Request;
    const info = new NodeServeInfo(req, options);
    if (onServeInfo !== undefined) onServeInfo(info);
    callFetch(app, request, info, req, res, settle, fail);
  };
}

/**
 * Runs `app.fetch` and hands on what comes of it: a `Response`, or whatever a returned promise
 * resolves to (unchecked: `settle` decides), to `settle`; a throw, a rejection, or an answer that
 * is neither a Response nor a promise, to `fail`. `req` and `res` are passed through, so that a
 * synchronous answer costs no closure. (Every way the gateway calls an app: node:http requests
 * and upgrades, and the server's fast lane.)
 */
export function callFetch<Req, Res>(
  app: App,
  request: Request,
  info: ServeInfo,
  req: Req,
  res: Res,
  settle: (req: Req, res: Res, result: unknown) => void,
  fail: (req: Req, res: Res, error: unknown) => void,
): void {
  let result: Response | Promise<Response>;
  try {
    result = app.fetch(request, info);
  } catch (err) {
    fail(req, res, err);
    return;
  }
  if (result instanceof Response) settle(req, res, result);
  else if (result !== null && typeof (result as Promise<Response>)?.then === 'function') {
    (result as Promise<Response>).then(
      (value) => settle(req, res, value),
      (err: unknown) => fail(req, res, err),
    );
  } else fail(req, res, badResponse(result));
}
