import type { IncomingMessage } from 'node:http';
import { type HandshakeRefusal, isWebSocketRequest } from '../gateway/node-upgrade.ts';
import { normalizeOrigin } from './options.ts';

// RFC 6455 §4.1: the key is the base64 of 16 random bytes: 22 characters and "==".
const KEY_SHAPE = /^[+/0-9A-Za-z]{21}[AQgw]==$/;

/**
 * Checks a WebSocket opening handshake (RFC 6455 §4.2.1) before the app sees it. Answers 426
 * with the version we speak to a client that asks for another (§4.4), 400 to a malformed
 * handshake, 403 to a browser from an origin not allowed.
 */
export function vetHandshake(
  req: IncomingMessage,
  allowedOrigins: ReadonlySet<string> | '*' | undefined,
): HandshakeRefusal | undefined {
  if (req.method !== 'GET') {
    return { status: 400, message: 'A WebSocket handshake must be a GET request (RFC 6455 §4.1)' };
  }
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor < 1) {
    return { status: 400, message: 'A WebSocket handshake needs HTTP/1.1 (RFC 6455 §4.1)' };
  }
  const headers = req.headers;
  const version = headers['sec-websocket-version'];
  if (version !== '13') {
    return {
      status: 426,
      message: 'Unsupported or missing Sec-WebSocket-Version: this server speaks version 13',
      headers: { 'Sec-WebSocket-Version': '13' },
    };
  }
  const key = headers['sec-websocket-key'];
  if (key === undefined || !KEY_SHAPE.test(key)) {
    return {
      status: 400,
      message: 'Missing or malformed Sec-WebSocket-Key (RFC 6455 §4.1: base64 of 16 bytes)',
    };
  }
  if (allowedOrigins !== '*') {
    const origin = headers.origin;
    if (origin !== undefined && !originAllowed(origin, headers.host, allowedOrigins)) {
      return { status: 403, message: 'This Origin may not open a WebSocket here' };
    }
  }
  return undefined;
}

/** Same-origin by default (the Origin's authority is the Host), else the allowlist. */
export function originAllowed(
  origin: string,
  host: string | undefined,
  allowed: ReadonlySet<string> | undefined,
): boolean {
  if (allowed !== undefined) return allowed.has(normalizeOrigin(origin));
  if (host === undefined || origin === 'null') return false;
  let authority: string;
  try {
    const url = new URL(origin);
    authority = url.host;
  } catch {
    return false;
  }
  // `new URL` drops default ports; the Host header may carry them.
  const h = host.toLowerCase();
  return authority === h || authority === h.replace(/:(80|443)$/, '');
}

/**
 * RFC 6455 §4.2.2: the first of the route's protocols the client offers, `false` for none; a
 * client that offers protocols, none of them spoken here, gets `undefined` (refused).
 */
export function selectProtocol(
  offered: string | undefined,
  spoken: readonly string[] | undefined,
): string | false | undefined {
  if (offered === undefined || spoken === undefined || spoken.length === 0) return false;
  const list = offered.split(',').map((p) => p.trim());
  for (const p of spoken) if (list.includes(p)) return p;
  return undefined;
}

// The rule is the gateway's (the server asks it through node's shouldUpgradeCallback).
export { isWebSocketRequest };
