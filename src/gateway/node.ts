import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { BodyEncoder } from './body-encoder.ts';
import { badResponse, isInstance } from './errors.ts';
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
  const sink = options.onError;
  // The server's sink never throws; a user's might, and nothing above would catch it.
  const onError: ErrorSink = (error, req, res) => {
    try {
      sink(error, req, res);
    } catch {
      answerLastResort(res);
    }
  };
  const onServeInfo = options.onServeInfo;
  // callFetch hands over a Response only.
  const settle = (req: IncomingMessage, res: ServerResponse, result: Response): void => {
    // The app answered before the body arrived in full (it read part of it, or none of a
    // body it left flowing): node would wait for the rest, so close the connection instead.
    if (options.closing === true || (!req.complete && req.readableFlowing !== null))
      res.shouldKeepAlive = false;
    try {
      writeResponse(result, req, res, onError, options.encoder);
    } catch (err) {
      onError(err, req, res);
    }
  };
  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown): void => onError(err, req, res);
  return function strataRequest(req: IncomingMessage, res: ServerResponse): void {
    const request = new NodeRequest(req, res, options) as Request;
    const info = new NodeServeInfo(req, options);
    if (onServeInfo !== undefined) onServeInfo(info);
    callFetch(app, request, info, req, res, settle, fail);
  };
}

/** A 500 with no body, or a closed connection when even that cannot be written. */
function answerLastResort(res: ServerResponse): void {
  try {
    if (res.headersSent) res.destroy();
    else {
      res.writeHead(500, { 'content-length': '0' });
      res.end();
    }
  } catch {
    res.destroy();
  }
}

/**
 * Runs `app.fetch` and hands on what comes of it: a `Response` (returned, or what a returned
 * promise resolves to) to `settle`; a throw, a rejection, or an answer that is not a Response,
 * to `fail`. `req` and `res` are passed through, so that a synchronous answer costs no closure.
 * (Every way the gateway calls an app: node:http requests and upgrades, and the server's fast
 * lane.)
 *
 * Containment: the app's answer is user data and may be hostile (a Proxy whose traps throw, an
 * object whose getters throw, a thenable whose `then` throws or calls back twice). It is read
 * inside a guard, `settle` and `fail` run at most once between them, and nothing they throw
 * escapes: from here on, a throw would be an uncaught exception or an unhandled rejection, and
 * either ends the process.
 */
export function callFetch<Req, Res>(
  app: App,
  request: Request,
  info: ServeInfo,
  req: Req,
  res: Res,
  settle: (req: Req, res: Res, result: Response) => void,
  fail: (req: Req, res: Res, error: unknown) => void,
): void {
  let result: unknown;
  let isResponse: boolean;
  try {
    result = app.fetch(request, info);
    isResponse = result instanceof Response;
  } catch (err) {
    failSafely(req, res, err, fail);
    return;
  }
  if (isResponse) {
    settleSafely(req, res, result as Response, settle, fail);
    return;
  }
  let done = false;
  try {
    const then =
      typeof result === 'object' && result !== null ? (result as PromiseLike<unknown>).then : undefined;
    if (typeof then !== 'function') {
      done = true;
      failSafely(req, res, badResponse(result), fail);
      return;
    }
    then.call(
      result,
      (value: unknown) => {
        if (done) return;
        done = true;
        if (isInstance(value, Response)) settleSafely(req, res, value as Response, settle, fail);
        else failSafely(req, res, badResponse(value), fail);
      },
      (err: unknown) => {
        if (done) return;
        done = true;
        failSafely(req, res, err, fail);
      },
    );
  } catch (err) {
    if (done) return;
    done = true;
    failSafely(req, res, err, fail);
  }
}

function settleSafely<Req, Res>(
  req: Req,
  res: Res,
  result: Response,
  settle: (req: Req, res: Res, result: Response) => void,
  fail: (req: Req, res: Res, error: unknown) => void,
): void {
  try {
    settle(req, res, result);
  } catch (err) {
    // A Response whose getters throw, or that cannot be written.
    failSafely(req, res, err, fail);
  }
}

function failSafely<Req, Res>(
  req: Req,
  res: Res,
  error: unknown,
  fail: (req: Req, res: Res, error: unknown) => void,
): void {
  try {
    fail(req, res, error);
  } catch {
    // The sinks answer and log on their own and are written not to throw (the node adapter
    // guards a user's sink); one that throws anyway has no one left to tell.
  }
}
