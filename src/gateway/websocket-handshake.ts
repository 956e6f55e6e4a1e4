/**
 * The WebSocket opening handshake's rules (RFC 6455 §4.1, §4.2), once, for every door: node's
 * (realtime's `RealtimeServer`, through the server) and the web runtimes' (Bun, Deno). Pure: the
 * callers read the head from their own request objects.
 */
import { listElements } from './http.ts';

/** A handshake refused before the app runs: the status, a plain-text reason, extra headers. */
export interface HandshakeRefusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

/** What the rules read of an opening handshake. */
export interface HandshakeHead {
  method: string | undefined;
  /** Whether the request is HTTP/1.1 or later (RFC 6455 §4.1). */
  http11: boolean;
  /** `Sec-WebSocket-Version`. */
  version: string | null | undefined;
  /** `Sec-WebSocket-Key`. */
  key: string | null | undefined;
  origin: string | null | undefined;
  host: string | null | undefined;
}

/**
 * Origins a handshake may come from: `'*'` for any, a list (normalised or not), or undefined for
 * same-origin only.
 */
export type AllowedOrigins = ReadonlySet<string> | readonly string[] | '*' | undefined;

// RFC 6455 §4.1: the key is the base64 of 16 random bytes: 22 characters and "==".
const KEY_SHAPE = /^[+/0-9A-Za-z]{21}[AQgw]==$/;

/** Whether an `Upgrade` value names `websocket` (a list, compared case-insensitively). */
export function upgradesToWebSocket(upgrade: string | null | undefined): boolean {
  if (upgrade === null || upgrade === undefined) return false;
  if (upgrade.length === 9) return upgrade.toLowerCase() === 'websocket';
  return listElements(upgrade).some((p) => p.toLowerCase() === 'websocket');
}

/**
 * Checks an opening handshake (RFC 6455 §4.2.1) before the app sees it: 400 to a handshake that
 * is not an HTTP/1.1 GET or has a malformed key, 426 with the version we speak to a client that
 * asks for another (§4.4), 403 to a browser from an origin not allowed (cross-site WebSocket
 * hijacking: same-origin by default).
 */
export function vetWebSocketHandshake(
  head: HandshakeHead,
  allowedOrigins: AllowedOrigins,
): HandshakeRefusal | undefined {
  if (head.method !== 'GET') {
    return { status: 400, message: 'A WebSocket handshake must be a GET request (RFC 6455 §4.1)' };
  }
  if (!head.http11) {
    return { status: 400, message: 'A WebSocket handshake needs HTTP/1.1 (RFC 6455 §4.1)' };
  }
  if (head.version !== '13') {
    return {
      status: 426,
      message: 'Unsupported or missing Sec-WebSocket-Version: this server speaks version 13',
      headers: { 'Sec-WebSocket-Version': '13' },
    };
  }
  const key = head.key;
  if (key === null || key === undefined || !KEY_SHAPE.test(key)) {
    return {
      status: 400,
      message: 'Missing or malformed Sec-WebSocket-Key (RFC 6455 §4.1: base64 of 16 bytes)',
    };
  }
  const origin = head.origin;
  if (
    allowedOrigins !== '*' &&
    origin !== null &&
    origin !== undefined &&
    !originAllowed(origin, head.host, allowedOrigins)
  ) {
    return { status: 403, message: 'This Origin may not open a WebSocket here' };
  }
  return undefined;
}

/** `HTTPS://Example.com:443/` and `https://example.com` are the same origin (RFC 6454 §4). */
export function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin.toLowerCase();
  } catch {
    return origin.toLowerCase();
  }
}

/** Same-origin by default (the Origin's authority is the Host), else the allowlist. */
export function originAllowed(
  origin: string,
  host: string | null | undefined,
  allowed: ReadonlySet<string> | readonly string[] | undefined,
): boolean {
  if (allowed !== undefined) {
    const normalized = normalizeOrigin(origin);
    if ('has' in allowed) return allowed.has(normalized);
    return allowed.some((a) => normalizeOrigin(a) === normalized);
  }
  if (host === null || host === undefined || origin === 'null') return false;
  let authority: string;
  try {
    authority = new URL(origin).host;
  } catch {
    return false;
  }
  // `new URL` drops default ports; the Host header may carry them.
  const h = host.toLowerCase();
  return authority === h || authority === h.replace(/:(80|443)$/, '');
}

/**
 * RFC 6455 §4.2.2: the first of the route's protocols the client offers (the route's order wins),
 * `false` when none is to be selected (no offer, or a route without protocols), `undefined` when
 * the client offers protocols and none of them is spoken here (refused with 400).
 */
export function selectSubprotocol(
  offered: string | null | undefined,
  spoken: readonly string[] | undefined,
): string | false | undefined {
  if (spoken === undefined || spoken.length === 0) return false;
  if (offered === null || offered === undefined) return false;
  const offers = listElements(offered).filter((p) => p !== '');
  if (offers.length === 0) return false;
  for (const p of spoken) if (offers.includes(p)) return p;
  return undefined;
}

/** Headers of the app's marker response that must not reach the 101 (RFC 6455 §4.2.2 owns them). */
export const NOT_IN_101: ReadonlySet<string> = new Set([
  'connection',
  'upgrade',
  'content-length',
  'content-type',
  'transfer-encoding',
  'keep-alive',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
]);
