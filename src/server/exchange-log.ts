import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { isBodilessResponse } from '../gateway/http.ts';
import type { ServeInfo } from '../gateway/types.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { AccessLog, LoggedRequest } from './access-log.ts';
import type { Exchange, ExchangeEnd } from './exchange.ts';
import type { LaneRequest } from './h1/lane.ts';
import {
  type LoggedResponse,
  type RecordedResponse,
  type ResponseClasses,
  type ResponseSink,
  responseClasses,
  responseEnd,
} from './logged-response.ts';

type RecordedRequest = LoggedRequest;

/**
 * The one place where an exchange is logged and metered when it ends, whatever carried it: a
 * transport's exchange (`exchangeStarted`: the lane's, next HTTP/2's), a node response (the `Recorded` response class reports here), a
 * WebSocket handshake (`handshakeStarted`), CONNECT, and a refusal of the parser before any
 * request (`refused`). Made only when the access log or the metrics are on.
 */
export class ExchangeLog {
  /** The response classes for node's server and the lane's bridge. */
  readonly responses: ResponseClasses;
  /** Where a response class of another transport (HTTP/2's) reports its start and end. */
  readonly sink: ResponseSink;
  readonly #accessLog: AccessLog | undefined;
  readonly #metrics: Metrics | undefined;

  constructor(accessLog: AccessLog | undefined, metrics: Metrics | undefined) {
    this.#accessLog = accessLog;
    this.#metrics = metrics;
    this.sink = {
      header: accessLog?.header,
      assignId: (req) => accessLog?.assignId(req),
      started: () => this.started(),
      ended: (res) => this.#responseEnded(res),
    };
    this.responses = responseClasses(this.sink);
  }

  /** The header request ids are sent in (the access log's), or undefined. */
  get header(): string | undefined {
    return this.#accessLog?.header;
  }

  /** Counts an exchange in flight; returns its start (`performance.now()`). */
  started(): number {
    this.#metrics?.requestStarted();
    return performance.now();
  }

  /**
   * An exchange of a transport: started, given its request id (sent on the response), and
   * recorded once when it ends — bridged or not, the exchange reports its own end.
   */
  exchangeStarted(exchange: Exchange): void {
    exchange.startedAt = this.started();
    const log = this.#accessLog;
    if (log !== undefined) {
      const id = log.exchangeId(exchange.req);
      if (id !== undefined) {
        exchange.requestId = id;
        exchange.req.strataRequestId = id;
        exchange.addHeader(log.header!, id);
      }
    }
    exchange.onEnd(this.#exchangeEnded);
  }

  readonly #exchangeEnded = (end: ExchangeEnd, exchange: Exchange): void => {
    this.end(exchange.req, end, exchange.startedAt, exchange.requestId, exchange.info);
  };

  #responseEnded(res: RecordedResponse): void {
    this.end(res.req, responseEnd(res, res.req.method), res.strataStart, res.strataId, res.strataInfo);
  }

  /**
   * A WebSocket handshake: started now; the returned function records its end (`101`, a refusal
   * written straight to the socket, the app's own answer, or 499 when the client left first).
   */
  handshakeStarted(req: IncomingMessage): (status: number) => void {
    const start = this.started();
    const id = this.#accessLog?.assignId(req);
    return (status) => this.end(req, { status, bytes: 0 }, start, id, undefined);
  }

  /** The end of every exchange: one access line, one metrics sample. */
  end(
    req: RecordedRequest,
    end: ExchangeEnd,
    startedAt: number,
    requestId: string | undefined,
    info: ServeInfo | undefined,
  ): void {
    const ms = performance.now() - startedAt;
    const status = end.status;
    const bytes = status < 200 || isBodilessResponse(req.method, status) ? 0 : end.bytes;
    this.#metrics?.requestFinished(req.method ?? '', info?.route ?? '', status, ms / 1000);
    this.#accessLog?.line(req, status, bytes, ms, requestId);
  }

  /**
   * The lane's 408 for a request whose body did not arrive within requestTimeout: logged and
   * metered as that request (node's path logs its 408 the same way).
   */
  readonly laneRefused = (_socket: Socket, status: number, req: LaneRequest, startedAt: number): void => {
    this.#metrics?.requestStarted();
    this.end(req, { status, bytes: 0 }, startedAt, this.#accessLog?.exchangeId(req), undefined);
  };

  /**
   * A status the server wrote straight to the socket: on the response in progress (a 408 when
   * the body is too slow), or, when there is none, as a line of its own (the parser's 400, 431,
   * 501, a 408 for headers too slow).
   */
  refused(socket: Socket, status: number, current: ServerResponse | null | undefined): void {
    if (current != null) {
      if (current instanceof this.responses.Counting) (current as LoggedResponse).strataRefused = status;
      return;
    }
    this.#accessLog?.refusedLine(socket, status);
  }
}
