import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeHandler } from '../gateway/node.ts';
import type { ServeInfo } from '../gateway/types.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { EdgeProxy } from '../proxy/edge-proxy.ts';
import { answerHttp01, type Http01Answers, isChallengeTarget } from './acme/challenges.ts';
import { type EdgePolicy, Refusal } from './edge-policy.ts';
import type { ExchangeLog } from './exchange-log.ts';
import type { Exchange, FastLane, LaneRequest } from './h1/lane.ts';
import type { RecordedResponse } from './logged-response.ts';
import { sendPlain } from './responses.ts';
import type { ServerState } from './server-state.ts';
import type { StaticFiles } from './static/static-files.ts';

/** What the dispatch hands a request to once the edge policy passed it. */
export interface DispatchParts {
  policy: EdgePolicy;
  state: ServerState;
  /** Static files, asked first when on. */
  staticFiles: StaticFiles | undefined;
  /**
   * ACME HTTP-01 answers (src/server/acme/): a request on the challenge path is answered once it
   * is counted and recorded, before the edge policy (the CA's validation must not depend on it).
   */
  acme?: Http01Answers | undefined;
  /** The reverse proxy's routes, asked before static files (src/proxy/). */
  proxy: EdgeProxy | undefined;
  /** node's path: the app (a fetch app through the gateway's node adapter, or a node app). */
  handler: NodeHandler;
  /** The lane's path: the fetch app through the gateway on the lane's exchange. */
  laneHandler: ((req: LaneRequest, exchange: Exchange) => void) | undefined;
  /** The record of every exchange's end (access log, metrics), when either is on. */
  exchangeLog: ExchangeLog | undefined;
  /** With metrics on, the route of each request is kept from its ServeInfo. */
  metrics: Metrics | undefined;
  requestStarted: ((req: IncomingMessage) => void) | undefined;
  maxRequestsPerSocket: number;
}

type Next = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The one dispatch of every request, from either transport: counted (`onRequestStart`,
 * metrics), judged by the edge policy (a refusal is answered by the policy), given an in-flight
 * slot, then the proxy's routes, then static files, then the app. (Plain fields rather than `#private`: this runs per
 * request, and closures reaching private fields measured slower on this path.)
 */
export class Dispatch {
  /** The lane, once made (for node's `maxRequestsPerSocket` count of handed-over connections). */
  lane: FastLane | undefined = undefined;
  private readonly p: DispatchParts;
  /** The request's ServeInfo, handed over by the gateway while the request is dispatched. */
  private info: ServeInfo | undefined = undefined;

  constructor(parts: DispatchParts) {
    this.p = parts;
  }

  /** For the gateway's `onServeInfo` (metrics only): the route the framework matched. */
  readonly onServeInfo = (info: ServeInfo): void => {
    this.info = info;
  };

  /** node's 'request'. */
  readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => this.node(req, res, this.route);
  /** node's 'checkContinue' (`Expect: 100-continue`). */
  readonly onCheckContinue = (req: IncomingMessage, res: ServerResponse): void =>
    this.node(req, res, this.routeExpecting);
  /** node's 'checkExpectation' (any other expectation). */
  readonly onCheckExpectation = (req: IncomingMessage, res: ServerResponse): void =>
    this.node(req, res, this.routeUnexpected);

  /** Every request the lane parsed. */
  readonly onLaneRequest = (laneReq: LaneRequest, exchange: Exchange): void => {
    const p = this.p;
    const req = laneReq as unknown as IncomingMessage;
    if (p.requestStarted !== undefined) p.requestStarted(req);
    if (p.exchangeLog !== undefined) p.exchangeLog.exchangeStarted(exchange);
    if (p.acme !== undefined && isChallengeTarget(laneReq.url)) {
      answerHttp01(p.acme, laneReq, exchange.bridge(p.state.draining));
      return;
    }
    if (p.metrics === undefined) {
      this.laneRoute(req, exchange);
      return;
    }
    this.info = undefined;
    this.laneRoute(req, exchange);
    exchange.info = this.info;
    this.info = undefined;
  };

  private node(req: IncomingMessage, res: ServerResponse, next: Next): void {
    const p = this.p;
    if (p.requestStarted !== undefined) p.requestStarted(req);
    if (p.state.draining) res.shouldKeepAlive = false;
    // A connection the lane handed over: node counts from 0, the cap counts every request.
    const lane = this.lane;
    if (p.maxRequestsPerSocket > 0 && lane !== undefined) {
      if (lane.countHandedOver(req.socket) >= p.maxRequestsPerSocket) res.shouldKeepAlive = false;
    }
    if (p.acme !== undefined && answerHttp01(p.acme, req, res)) return;
    if (p.metrics === undefined) {
      next(req, res);
      return;
    }
    // With metrics on, the response (the exchange log's class) keeps the route's ServeInfo.
    this.info = undefined;
    next(req, res);
    (res as RecordedResponse).strataInfo = this.info;
    this.info = undefined;
  }

  private readonly route = (req: IncomingMessage, res: ServerResponse): void => {
    const policy = this.p.policy;
    const kind = policy.refusal(req, false, res);
    if (kind !== Refusal.PASS) policy.refuse(kind, req, res);
    else this.pass(req, res);
  };

  // `Expect: 100-continue`: the refusals first, so that a request refused (a declared body over
  // maxBodySize, a denied client) gets its answer at once and never a 100 (RFC 9110 §10.1.1).
  private readonly routeExpecting = (req: IncomingMessage, res: ServerResponse): void => {
    const policy = this.p.policy;
    const kind = policy.refusal(req, false, res);
    if (kind !== Refusal.PASS) {
      policy.refuse(kind, req, res);
      return;
    }
    res.writeContinue();
    this.pass(req, res);
  };

  // RFC 9110 §10.1.1: an expectation other than 100-continue gets 417 — once the edge policy has
  // passed the request (a denied client gets its 403, not a 417); the connection is closed
  // either way, so that a body the client sends anyway is never read as the next request.
  private readonly routeUnexpected = (req: IncomingMessage, res: ServerResponse): void => {
    const policy = this.p.policy;
    const kind = policy.refusal(req, false, res);
    res.shouldKeepAlive = false;
    if (kind !== Refusal.PASS) policy.refuse(kind, req, res);
    else sendPlain(res, 417, 'Only "Expect: 100-continue" is supported');
  };

  private pass(req: IncomingMessage, res: ServerResponse): void {
    const p = this.p;
    if (p.state.maxInFlight > 0) {
      p.state.enter();
      res.once('close', p.state.leave);
    }
    if (p.proxy?.node(req, res)) return;
    const handler = p.handler;
    if (p.staticFiles !== undefined) p.staticFiles.handle(req, res, () => handler(req, res));
    else handler(req, res);
  }

  private readonly laneRoute = (req: IncomingMessage, exchange: Exchange): void => {
    const p = this.p;
    // A refusal is answered by the node path's own code, on a node response. The lane's parser
    // vouches for its heads; an HTTP/2 stream's (h2/exchange.ts) gets the node path's checks.
    const kind = p.policy.refusal(req, req.httpVersionMajor === 1);
    if (kind !== Refusal.PASS) {
      p.policy.refuse(kind, req, exchange.bridge(p.state.draining));
      return;
    }
    if (p.state.maxInFlight > 0) {
      p.state.enter();
      exchange.once('close', p.state.leave);
    }
    // `req` is the lane's request seen as node's; its own type is `exchange.req` (the same object).
    if (p.proxy?.lane(exchange.req, exchange)) return;
    if (p.staticFiles !== undefined) this.laneStatic(p.staticFiles, req, exchange);
    else p.laneHandler!(exchange.req, exchange);
  };

  // A file in the memory cache is answered at once with the lane's one write (`respond`); any
  // other file on a bridged response, made only when the request names a file; a request that
  // is not for a file goes on to the app on the lane (or, if the static handler had already made
  // the response before finding nothing, through node's writer on it).
  private laneStatic(files: StaticFiles, req: IncomingMessage, exchange: Exchange): void {
    const p = this.p;
    const cached = files.cachedAnswer(exchange.req);
    if (cached !== undefined && exchange.respond(cached, p.state.draining)) return;
    let res: ServerResponse | undefined;
    files.handle(
      req,
      () => {
        res ??= exchange.bridge(p.state.draining);
        return res;
      },
      () => {
        if (res !== undefined) p.handler(req, res);
        else p.laneHandler!(exchange.req, exchange);
      },
    );
  }
}
