import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { TOKEN } from '../gateway/http.ts';
import type { Logger } from '../observe/logger.ts';
import { CLOSE_TAIL, serializeHead } from './exchange.ts';
import type { ExchangeLog } from './exchange-log.ts';
import { currentResponse } from './node-internals.ts';

// A well-formed request line whose HTTP major version is not 1 (llhttp refuses `HTTP/3.0`
// itself): RFC 9110 §15.6.6 answers it 505, a malformed version stays a 400.
const OTHER_MAJOR = new RegExp(`^${TOKEN.source.slice(1, -1)} [^ ]+ HTTP\\/[02-9]\\.[0-9]\\r?\\n`);
function otherMajorVersion(packet: Buffer | undefined): boolean {
  return (
    packet !== undefined && OTHER_MAJOR.test(packet.toString('latin1', 0, Math.min(packet.length, 8192)))
  );
}

/**
 * The status that answers a request node's parser (llhttp) refused: node's own answers, with an
 * unknown method 501 (RFC 9110 §9.1, not 400) and another HTTP major version 505.
 */
export function parserErrorStatus(code: string | undefined, rawPacket?: Buffer): number {
  switch (code) {
    case 'HPE_INVALID_METHOD':
      return 501;
    case 'HPE_INVALID_VERSION':
      return otherMajorVersion(rawPacket) ? 505 : 400;
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    default:
      return 400;
  }
}

/**
 * A TLS failure (node:https passes `tlsClientError` on as `clientError`): a handshake that failed,
 * timed out or met garbage. There is no HTTP to answer in, so the connection is only closed.
 */
function isTlsError(err: NodeJS.ErrnoException & { library?: string }): boolean {
  const code = err.code ?? '';
  return code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || err.library === 'SSL routines';
}

/**
 * node's 'clientError': answers the parser's refusal (`parserErrorStatus`), logs it, and closes
 * the connection in every case. `responseHeaders`: the lines every response carries
 * (`Strict-Transport-Security` over TLS), refusals too.
 */
export function answerParserErrors(
  server: Server,
  log: Logger,
  exchangeLog: ExchangeLog | undefined,
  responseHeaders?: readonly (readonly [string, string])[],
): void {
  const tail = `${(responseHeaders ?? []).map(([name, value]) => `${name}: ${value}\r\n`).join('')}${CLOSE_TAIL}`;
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => {
    // As node does: no answer when the socket is gone or a response has already started on it.
    const current = currentResponse(socket);
    if (err.code === 'ECONNRESET' || isTlsError(err) || !socket.writable || current?.headersSent === true) {
      socket.destroy();
      return;
    }
    // Bytes after a request that said `Connection: close` (llhttp's HPE_CLOSED_CONNECTION): RFC
    // 9112 §9.6 says not to process them, not to refuse the request before them, whose answer may
    // still be on its way (an async app) and closes the connection. The lane drops them alike.
    if (err.code === 'HPE_CLOSED_CONNECTION') {
      if (current === undefined) socket.destroySoon();
      else socket.pause();
      return;
    }
    // A connection that never sent a byte (a preconnect, a port scan) is closed without an answer
    // or a log line when headersTimeout passes, as the fast lane closes it (and nginx): there is
    // no request to answer 408 to.
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && socket.bytesRead === 0) {
      socket.destroy();
      return;
    }
    const status = parserErrorStatus(err.code, err.rawPacket);
    log.debug({ code: err.code, status }, 'request refused by the parser');
    if (exchangeLog !== undefined) exchangeLog.refused(socket, status, current);
    // No fields of the app's: the head is always serialisable.
    socket.end(serializeHead(status, '', undefined, undefined, 0, undefined, '', tail)!, 'latin1');
    socket.destroySoon();
  });
}
