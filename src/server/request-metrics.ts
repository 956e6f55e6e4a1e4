import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServeInfo } from '../gateway/types.ts';
import type { Metrics } from '../observe/metrics.ts';

/**
 * Records one request in the metrics when its response ends (or the client leaves): method, the
 * route pattern the framework matched (`info.route`; `''` for static files, refusals and node
 * apps), status and latency. Only made when metrics are on. (Plain fields, not `#private`: a
 * per-request closure that reaches private fields measured several µs slower here.)
 */
export class RequestRecord {
  info: ServeInfo | undefined = undefined;
  private readonly metrics: Metrics;
  private readonly req: IncomingMessage;
  private readonly res: ServerResponse;
  private readonly start: bigint;

  constructor(metrics: Metrics, req: IncomingMessage, res: ServerResponse) {
    this.metrics = metrics;
    this.req = req;
    this.res = res;
    this.start = process.hrtime.bigint();
    metrics.requestStarted();
    res.once('close', this.done);
  }

  private readonly done = (): void => {
    const res = this.res;
    // nginx's 499: the client closed the connection before the response was complete.
    const status = res.writableFinished ? res.statusCode : 499;
    const seconds = Number(process.hrtime.bigint() - this.start) / 1e9;
    this.metrics.requestFinished(this.req.method ?? '', this.info?.route ?? '', status, seconds);
  };
}
