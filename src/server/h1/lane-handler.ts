import type { IncomingMessage, ServerResponse } from 'node:http';
import { badResponse } from '../../gateway/errors.ts';
import { FastResponse } from '../../gateway/fast-response.ts';
import { callFetch, type NodeAdapterOptions, NodeServeInfo } from '../../gateway/node.ts';
import { NodeRequest } from '../../gateway/node-request.ts';
import { writeResponse } from '../../gateway/node-response.ts';
import type { App } from '../../gateway/types.ts';
import type { Exchange, LaneRequest } from './lane.ts';

/**
 * A strata app on the fast lane: the same lazy `Request` and `ServeInfo` as on node:http (the
 * lane's request has the shape they read), the response written by the lane when its body is
 * known, through node's ServerResponse (`bridge`) otherwise. Errors go to the server's sink on
 * a bridged response, so they are answered and logged exactly as on the node path.
 */
export function createLaneHandler(
  app: App,
  options: NodeAdapterOptions,
): (req: LaneRequest, exchange: Exchange) => void {
  const onError = options.onError;
  const onServeInfo = options.onServeInfo;
  const fail = (req: LaneRequest, exchange: Exchange, error: unknown): void => {
    onError(error, req as unknown as IncomingMessage, exchange.bridge(options.closing === true));
  };
  const settle = (req: LaneRequest, exchange: Exchange, result: unknown): void => {
    if (!(result instanceof Response)) {
      fail(req, exchange, badResponse(result));
      return;
    }
    const closing = options.closing === true;
    const parts = FastResponse.parts(result);
    if (parts !== undefined && exchange.writeKnown(parts, closing, options.encoder)) return;
    const res: ServerResponse = exchange.bridge(closing);
    const nodeReq = req as unknown as IncomingMessage;
    try {
      writeResponse(result, nodeReq, res, onError, options.encoder);
    } catch (err) {
      onError(err, nodeReq, res);
    }
  };
  return function strataLaneRequest(req: LaneRequest, exchange: Exchange): void {
    const nodeReq = req as unknown as IncomingMessage;
    const request = new NodeRequest(nodeReq, exchange as unknown as ServerResponse, options) as Request;
    const info = new NodeServeInfo(nodeReq, options);
    if (onServeInfo !== undefined) onServeInfo(info);
    callFetch(app, request, info, req, exchange, settle, fail);
  };
}
