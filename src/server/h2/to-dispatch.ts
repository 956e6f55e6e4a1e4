import type { IncomingMessage } from 'node:http';
import { Http2ServerRequest, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Dispatch } from '../dispatch.ts';
import type { Exchange, LaneRequest } from '../h1/lane.ts';
import { H2Exchange } from './exchange.ts';
import { H2Request, http1RawHeaders } from './request.ts';
import { asServerResponse, type H2ResponseClass } from './response.ts';
import type { StreamListener } from './sessions.ts';

/**
 * The one boundary between HTTP/2 and the server's dispatch (the rest of src/server/h2/ knows
 * nothing of it). A fetch app's streams take the dispatch's exchange path — the edge policy with
 * the node path's head checks, static files, the app through the gateway's lane handler, a known
 * body written by `H2Exchange` itself; a node app's streams (or any, with `fastLane: false`) take
 * node's path with node's compatibility request and response, as an http2 server would give them.
 */
export function dispatchStreams(
  dispatch: Dispatch,
  Response: H2ResponseClass,
  Bridged: H2ResponseClass,
  exchangePath: boolean,
  fixed?: readonly (readonly [string, string])[],
): StreamListener {
  if (exchangePath) {
    return (stream, headers, _flags, rawHeaders) => {
      const req = new H2Request(stream, headers, rawHeaders, stream.session!.socket as Socket);
      const exchange = new H2Exchange(req, Bridged, fixed);
      // The exchange contract of the HTTP/1.1 lane, structurally (see H2Exchange).
      dispatch.onLaneRequest(req as unknown as LaneRequest, exchange as unknown as Exchange);
    };
  }
  return (stream, headers, _flags, rawHeaders) => {
    const authority = headers[':authority'];
    if (headers.host === undefined && authority !== undefined) headers.host = authority;
    const compat = new H2CompatRequest(stream, headers, http1RawHeaders(rawHeaders));
    const req = compat as unknown as IncomingMessage;
    const res = asServerResponse(new Response(req, stream));
    if (fixed !== undefined) for (const [name, value] of fixed) res.setHeader(name, value);
    dispatch.onRequest(req, res);
  };
}

/** node's compatibility request, saying from the stream's framing whether a body follows (gateway's DeclaredBody). */
class H2CompatRequest extends Http2ServerRequest {
  readonly bodyFollows: boolean;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]) {
    super(stream, headers, {}, rawHeaders);
    this.bodyFollows = !stream.endAfterHeaders;
  }
}
