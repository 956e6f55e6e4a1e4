import type { IncomingMessage } from 'node:http';
import { isWebSocketRequest } from '../gateway/node-upgrade.ts';
import {
  type HandshakeRefusal,
  originAllowed,
  selectSubprotocol,
  vetWebSocketHandshake,
} from '../gateway/websocket-handshake.ts';

/**
 * Checks a WebSocket opening handshake (RFC 6455 §4.2.1) before the app sees it, by the gateway's
 * one rule (src/gateway/websocket-handshake.ts, which Bun and Deno use too): 426 with the version
 * we speak to a client that asks for another (§4.4), 400 to a malformed handshake, 403 to a
 * browser from an origin not allowed.
 */
export function vetHandshake(
  req: IncomingMessage,
  allowedOrigins: ReadonlySet<string> | '*' | undefined,
): HandshakeRefusal | undefined {
  const headers = req.headers;
  return vetWebSocketHandshake(
    {
      method: req.method,
      http11: req.httpVersionMajor === 1 && req.httpVersionMinor >= 1,
      version: headers['sec-websocket-version'],
      key: headers['sec-websocket-key'],
      origin: headers.origin,
      host: headers.host,
    },
    allowedOrigins,
  );
}

/**
 * RFC 6455 §4.2.2: the first of the route's protocols the client offers, `false` for none; a
 * client that offers protocols, none of them spoken here, gets `undefined` (refused).
 */
export const selectProtocol: (
  offered: string | undefined,
  spoken: readonly string[] | undefined,
) => string | false | undefined = selectSubprotocol;

// The rules are the gateway's (the server asks isWebSocketRequest through node's shouldUpgradeCallback).
export { isWebSocketRequest, originAllowed };
