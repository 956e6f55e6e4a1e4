import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Exchange, LaneRequest } from '../h1/lane.ts';
import { answerHttp01, type Http01Answers, isChallengeTarget } from './challenges.ts';

/**
 * node's `request` listener with the HTTP-01 answer in front: a request on the challenge path is
 * answered here (the access log still sees it: node made its response), any other goes on.
 */
export function http01First(
  answers: Http01Answers,
  next: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (!answerHttp01(answers, req, res)) next(req, res);
  };
}

/** The same in front of the fast lane: the answer goes out on the exchange's node response. */
export function http01FirstOnLane(
  answers: Http01Answers,
  closing: () => boolean,
  next: (req: LaneRequest, exchange: Exchange) => void,
): (req: LaneRequest, exchange: Exchange) => void {
  return (req, exchange) => {
    if (!isChallengeTarget(req.url)) next(req, exchange);
    else answerHttp01(answers, req, exchange.bridge(closing()));
  };
}
