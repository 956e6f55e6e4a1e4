import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { EdgePolicy, Refusal } from './edge-policy.ts';
import { currentResponse } from './node-internals.ts';
import { sendPlain } from './responses.ts';

const ignoreError = (): void => {};
// A socket that left node's HTTP handling: a client that ends its side is gone.
function destroyOnEnd(this: Socket): void {
  this.destroy();
}

/**
 * CONNECT (RFC 9110 §9.3.6) asks for a tunnel, and node hands its socket to 'connect'
 * listeners, outside the request path (without one, node closed the connection unanswered and
 * unlogged). It meets the same edge policy, is logged like any request, and — this server is not
 * a proxy — gets a 501; unless a node app listens for CONNECT itself
 * (`server.node.on('connect', ...)`), which then gets the requests the policy passes.
 * `responseHeaders`: the lines every response carries (`Strict-Transport-Security` over TLS).
 */
export function answerConnect(
  server: Server,
  policy: EdgePolicy,
  ResponseClass: typeof ServerResponse,
  requestStarted: ((req: IncomingMessage) => void) | undefined,
  responseHeaders?: readonly (readonly [string, string])[],
): void {
  const answer = (req: IncomingMessage, socket: Socket, kind: Refusal): void => {
    const res = new ResponseClass(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    // The lines every response carries (HSTS over TLS): this one is made outside the request path.
    if (responseHeaders !== undefined)
      for (const [name, value] of responseHeaders) res.setHeader(name, value);
    if (kind !== 0) policy.refuse(kind, req, res);
    else sendPlain(res, 501, 'CONNECT is not supported: this server is not a proxy');
    // After the answer (written now, or queued in the socket): close; a node app's own
    // listener, which runs next, finds the socket ended.
    socket.end();
  };
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    if (requestStarted !== undefined) requestStarted(req);
    const kind = policy.refusal(req, false);
    if (kind === 0 && server.listenerCount('connect') > 1) return;
    // node removed its own listeners from the socket: a reset must not throw, and nothing but
    // this answer is read from it.
    socket.on('error', ignoreError);
    // A CONNECT pipelined behind a response still being written: the socket is that response's
    // until it ends (assigning it to another threw, uncaught); answer once it is done, unless
    // the client leaves first.
    const pending = currentResponse(socket);
    if (pending === null) {
      answer(req, socket, kind);
      return;
    }
    const resume = (): void => {
      socket.off('close', gone);
      socket.off('end', destroyOnEnd);
      setImmediate(() => {
        if (!socket.destroyed) answer(req, socket, kind);
      });
    };
    const gone = (): void => {
      pending.off('finish', resume);
    };
    pending.once('finish', resume);
    socket.once('close', gone);
    socket.on('end', destroyOnEnd);
  });
}
