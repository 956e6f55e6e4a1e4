import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PickContext } from './balance/index.ts';
import type { Forwarder } from './forwarder.ts';
import { type ClientLeg, forwardRequestHeaders, forwardResponseHeaders, withHost } from './headers.ts';
import type { ProxyRoute } from './routes.ts';
import { PROBLEM_TYPE, problemBody } from './sink.ts';

function rawLatin1(buf: Buffer | string): string {
  return typeof buf === 'string' ? buf : buf.toString('latin1');
}

/** Writes a whole response on a socket that node no longer frames (an upgrade's), then ends it. */
function answerRaw(socket: Socket, status: number, headers: readonly string[], body: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
  for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  text += `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`;
  socket.end(text + body, 'latin1');
}

/**
 * Proxies a WebSocket handshake (RFC 6455 §4): the request goes to an upstream of the route's
 * group with its `Sec-WebSocket-*` fields (undici writes `Connection: upgrade` and
 * `Upgrade: websocket`); the upstream's 101 is relayed and the two sockets are piped together,
 * each pausing for the other. Any other answer is relayed as a closing response; a failure is a
 * 502/503/504 problem.
 */
export function proxyWebSocket(
  forwarder: Forwarder,
  route: ProxyRoute,
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  leg: ClientLeg,
  pick: PickContext,
  ended?: (status: number) => void,
): void {
  const group = route.group;
  forwarder.use(group);
  const log = forwarder.options.log;
  const upstream = group.pick(pick);
  const finish = (status: number): void => {
    ended?.(status);
    ended = undefined;
  };
  socket.on('error', () => socket.destroy());
  if (upstream === undefined) {
    log.warn({ group: group.name, url: req.url }, 'proxy: no upstream available for a WebSocket');
    answerRaw(
      socket,
      503,
      ['content-type', PROBLEM_TYPE],
      problemBody(503, 'No upstream server is available.'),
    );
    finish(503);
    return;
  }
  forwarder.options.noteUpstream?.(req, upstream.id);
  group.begin(upstream);
  const started = performance.now();
  let settled = false;
  const settle = (outcome: 'ok' | 'connect-error' | 'reset' | 'timeout' | 'server-error'): void => {
    if (settled) return;
    settled = true;
    group.end(upstream, outcome, performance.now() - started);
  };
  let headers = forwardRequestHeaders(req.rawHeaders, leg, forwarder.rewrite);
  if (forwarder.options.host === 'upstream') headers = withHost(headers, upstream.url.host);
  let abort: ((err?: Error) => void) | undefined;
  socket.once('close', () => abort?.(new Error('client closed the connection')));
  let status = 0;
  let relayed: string[] = [];
  let body = '';
  forwarder.pool(upstream).dispatch(
    {
      path: route.upstreamPath(req.url ?? '/', upstream.url.pathname),
      method: 'GET',
      headers,
      upgrade: 'websocket',
    },
    {
      onConnect(a: (err?: Error) => void) {
        abort = a;
        if (socket.destroyed) a(new Error('client closed the connection'));
      },
      // A refusal (403, 426, …): relayed with its body, then the connection is closed.
      onHeaders(code: number, raw: Buffer[]) {
        if (code < 200) return true;
        status = code;
        relayed = pairsWithout(forwardResponseHeaders(raw, forwarder.rewrite.via).headers, 'content-length');
        return true;
      },
      onData(chunk: Buffer) {
        if (body.length < 65_536) body += chunk.toString('latin1');
        return true;
      },
      onComplete() {
        settle('ok');
        answerRaw(socket, status, relayed, body);
        finish(status);
      },
      onUpgrade(code: number, raw: Buffer[] | string[] | null, upstreamSocket: Duplex) {
        settle('ok');
        let text = `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? 'Switching Protocols'}\r\n`;
        const list = raw ?? [];
        for (let i = 0; i < list.length; i += 2)
          text += `${rawLatin1(list[i]!)}: ${rawLatin1(list[i + 1]!)}\r\n`;
        if (forwarder.rewrite.via !== undefined) text += `via: ${forwarder.rewrite.via}\r\n`;
        text += '\r\n';
        if (!socket.writable) {
          upstreamSocket.destroy();
          finish(code);
          return;
        }
        socket.write(text, 'latin1');
        if (head.length > 0) upstreamSocket.write(head);
        const destroyBoth = (): void => {
          socket.destroy();
          upstreamSocket.destroy();
        };
        upstreamSocket.on('error', destroyBoth);
        socket.on('error', destroyBoth);
        upstreamSocket.on('close', () => socket.destroy());
        socket.on('close', () => upstreamSocket.destroy());
        upstreamSocket.pipe(socket);
        socket.pipe(upstreamSocket);
        finish(code);
      },
      onError(err: Error) {
        const code = (err as { code?: string }).code;
        const timeout = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT';
        settle(
          code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT'
            ? 'connect-error'
            : timeout
              ? 'timeout'
              : 'server-error',
        );
        if (socket.destroyed) {
          finish(499);
          return;
        }
        log.warn(
          { group: group.name, upstream: upstream.id, err: { code, message: err.message } },
          'proxy: WebSocket upstream failed',
        );
        const answer = code === 'UND_ERR_HEADERS_TIMEOUT' ? 504 : 502;
        answerRaw(
          socket,
          answer,
          ['content-type', PROBLEM_TYPE],
          problemBody(answer, 'The upstream server failed to answer.'),
        );
        finish(answer);
      },
    },
  );
}

/** A flat header list without the fields named `lower`. */
function pairsWithout(headers: readonly string[], lower: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2)
    if (headers[i]!.toLowerCase() !== lower) out.push(headers[i]!, headers[i + 1]!);
  return out;
}
