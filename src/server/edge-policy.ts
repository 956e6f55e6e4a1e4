import type { IncomingMessage, ServerResponse } from 'node:http';
import { trimOws } from '../gateway/http.ts';
import { isValidHost } from '../gateway/node-request.ts';
import type { RemoteAddress } from '../gateway/types.ts';
import type { Logger } from '../observe/logger.ts';
import { type AddressList, ipBytes } from './client-address.ts';
import { onHttp2Stream } from './h2/request.ts';
import type { LoggedResponse } from './logged-response.ts';
import type { EdgeRateLimiter } from './rate-limit.ts';
import { declaredBodyLength, sendPlain } from './responses.ts';
import type { ServerState } from './server-state.ts';

/**
 * The pure parts of the edge policy: what a request head must be before the server lets it go
 * further (RFC 9112's MUSTs that llhttp leaves to the server), the authority a request is for,
 * the host allowlist, and the key a connection is counted under for `maxConnectionsPerIp`.
 * `EdgePolicy` (below) asks these, for every request and every upgrade, on both transports.
 */

/** A head that passes. */
export const HEAD_OK = 0;

// An authority-form target ends with its port (required there, RFC 9112 §3.2.3).
const AUTHORITY_PORT = /:[0-9]{1,5}$/;

// The Host rule is the gateway's (it builds `request.url` from the same values): one rule for
// the edge, the fast lane's parser (h1/request-head.ts, its byte-level twin) and the app.
export { isValidHost };

/**
 * The node path's checks of a request head, beyond what llhttp refuses: `505` for an HTTP major
 * version other than 1, `431` past `maxHeaderCount` header lines, `400` for a Host that is
 * missing (HTTP/1.1), repeated or malformed, and for a request target that is neither
 * origin-form, `*` (OPTIONS only), authority-form (CONNECT only, and CONNECT's only form) nor an
 * http(s) absolute-form without userinfo. An
 * absolute-form target's authority replaces the Host header (RFC 9112 §3.2.2: the server MUST
 * ignore Host then), so the allowlist, the app and a node app all see the host that was asked for.
 * Returns 0 or the status to answer. The fast lane's parser vouches for all of this itself.
 */
export function headRefusal(
  req: IncomingMessage,
  maxHeaderCount: number,
  headLines: number = req.rawHeaders.length,
): number {
  // RFC 9112 §2.3 / RFC 9110 §15.6.6: only HTTP/1.x is spoken on an HTTP/1 connection (an
  // HTTP/2 stream's head is checked here as HTTP/1.1 would carry it: h2/request.ts).
  if (req.httpVersionMajor !== 1 && !onHttp2Stream(req)) return 505;
  const raw = req.rawHeaders;
  // `headLines`: rawHeaders' length as the client sent it (the access log adds a request id).
  if (maxHeaderCount > 0 && headLines > maxHeaderCount * 2) return 431;
  let at = -1;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === 17) {
      const te = transferCodingRefusal(key, raw[i + 1]!);
      if (te !== HEAD_OK) return te;
      continue;
    }
    // The usual spellings first: no lowercased copy of every 4-letter name per request.
    if (key.length !== 4 || (key !== 'Host' && key !== 'host' && key.toLowerCase() !== 'host')) continue;
    // RFC 9112 §3.2: more than one Host is a 400.
    if (at !== -1) return 400;
    at = i + 1;
  }
  const target = req.url ?? '';
  if (req.method === 'CONNECT') {
    // RFC 9112 §3.2.3: authority-form (host and port), and only for CONNECT; then the Host
    // rules below, as for any request.
    if (!AUTHORITY_PORT.test(target) || !isValidHost(target)) return 400;
  } else if (target.charCodeAt(0) !== 47 /* / */) {
    // RFC 9112 §3.2.4: asterisk-form is for OPTIONS only.
    if (target === '*') {
      if (req.method !== 'OPTIONS') return 400;
    } else {
      const authority = absoluteAuthority(target);
      if (authority === undefined) return 400;
      // RFC 9112 §3.2.2: the target's authority wins over Host, which the client MUST still
      // send (§3.2) — it is replaced, not added.
      if (at === -1 && req.httpVersionMinor >= 1) return 400;
      if (at === -1) raw.push('Host', authority);
      else raw[at] = authority;
      req.headers.host = authority;
      return HEAD_OK;
    }
  }
  if (at === -1) return req.httpVersionMinor >= 1 ? 400 : HEAD_OK;
  // RFC 9110 §4.2.1: an http URI with an empty host is invalid; RFC 9112 §3.2: a Host that is
  // not a valid host[:port] gets 400.
  return isValidHost(raw[at]!) ? HEAD_OK : 400;
}

/**
 * RFC 9112 §6.3: a request whose Transfer-Encoding does not end in `chunked` has no knowable
 * length — 400, never guessed (a front end that reads it otherwise is a smuggling relay). RFC 9112
 * §6.1: a coding the server does not apply to requests (`gzip, chunked`) is 501. Each line is
 * judged on its own: node joins repeated lines, and every line must end in chunked or be refused.
 */
function transferCodingRefusal(name: string, value: string): number {
  if (
    name !== 'Transfer-Encoding' &&
    name !== 'transfer-encoding' &&
    name.toLowerCase() !== 'transfer-encoding'
  )
    return HEAD_OK;
  const codings = value.split(',');
  for (let i = 0; i < codings.length; i++) {
    const coding = trimOws(codings[i]!).toLowerCase();
    if (coding === 'chunked') {
      if (i !== codings.length - 1) return 400;
    } else if (i === codings.length - 1) return 400;
    else return 501;
  }
  return HEAD_OK;
}

/**
 * The authority of an http(s) absolute-form target, as sent, or undefined when it is not one we
 * serve. Read from the raw text, not through WHATWG URL, which repairs what it should refuse
 * (`http:///x` is `http://x/` to it).
 */
function absoluteAuthority(target: string): string | undefined {
  const from = target.startsWith('http://') ? 7 : target.startsWith('https://') ? 8 : -1;
  if (from === -1) {
    // The scheme is case-insensitive (RFC 3986 §3.1); rare enough to lowercase here.
    const lower = target.slice(0, 8).toLowerCase();
    if (lower.startsWith('http://')) return absoluteAuthority(`http://${target.slice(7)}`);
    if (lower === 'https://') return absoluteAuthority(`https://${target.slice(8)}`);
    return undefined;
  }
  let to = from;
  while (to < target.length && target[to] !== '/' && target[to] !== '?' && target[to] !== '#') to++;
  // No userinfo (RFC 9110 §4.2.4: an error in http(s)), no empty host (§4.2.1).
  const authority = target.slice(from, to);
  return isValidHost(authority) ? authority : undefined;
}

/**
 * Host allowlist: exact names and `*.suffix` wildcards, compared without the port,
 * case-insensitively, on the request's one Host (the authority of an absolute-form target once
 * `headRefusal` has put it there). A request without a valid Host matches nothing.
 */
export function hostMatcher(hosts: string[]): (rawHeaders: string[]) => boolean {
  const exact = new Set(hosts.filter((h) => !h.startsWith('*.')).map((h) => h.toLowerCase()));
  const suffixes = hosts.filter((h) => h.startsWith('*.')).map((h) => h.slice(1).toLowerCase());
  return (raw) => {
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]!.length !== 4 || raw[i]!.toLowerCase() !== 'host') continue;
      // The value is a valid host[:port]: the lane's parser and `headRefusal` have refused any
      // other (`evil.com#.example.com` ends with the suffix, and is a URL for evil.com).
      let host = raw[i + 1]!.toLowerCase();
      if (host.startsWith('[')) host = host.slice(0, host.indexOf(']') + 1);
      else if (host.includes(':')) host = host.slice(0, host.lastIndexOf(':'));
      if (host.endsWith('.')) host = host.slice(0, -1);
      if (exact.has(host)) return true;
      return suffixes.some((s) => host.endsWith(s) && host.length > s.length);
    }
    return false;
  };
}

/**
 * The key a connection is counted under for `maxConnectionsPerIp`: the IPv4 address, or an IPv6
 * address's /64 (one subscriber's usual allocation: counting single IPv6 addresses would let
 * one client open a connection from each of its 2^64 addresses).
 */
export function peerKey(address: string): string {
  if (!address.includes(':') || address.startsWith('::ffff:')) {
    return address.startsWith('::ffff:') ? address.slice(7) : address;
  }
  const bytes = ipBytes(address);
  if (bytes === undefined) return address;
  let key = '';
  for (let i = 0; i < 8; i += 2) key += `${((bytes[i]! << 8) | bytes[i + 1]!).toString(16)}:`;
  return `${key}:/64`;
}

/** What the edge policy decided: `PASS`, or the refusal to answer (`EdgePolicy.refuse`). */
export const Refusal = {
  PASS: 0,
  OVERLOADED: 1,
  FORBIDDEN: 2,
  MISDIRECTED: 3,
  URI_TOO_LONG: 4,
  AT_CAPACITY: 5,
  BAD_REQUEST: 6,
  TOO_MANY_HEADERS: 7,
  VERSION: 8,
  TOO_LARGE: 9,
  NOT_IMPLEMENTED: 10,
  RATE_LIMITED: 11,
} as const;
export type Refusal = (typeof Refusal)[keyof typeof Refusal];

/** What the edge policy is configured with (from serve()'s options). */
export interface EdgePolicyConfig {
  /** Load shedding: the loop monitor, whose `underPressure` turns requests away with 503. */
  pressure?: { readonly underPressure: boolean } | undefined;
  allow?: AddressList | undefined;
  deny?: AddressList | undefined;
  /** The client address behind trusted proxies; the socket's peer without it. */
  remoteOf?: ((req: IncomingMessage) => RemoteAddress) | undefined;
  hostAllowed?: ((rawHeaders: string[]) => boolean) | undefined;
  maxHeaderCount: number;
  maxUrlLength: number;
  maxBodySize: number;
  /** `Retry-After` of the 503s, in seconds. */
  retryAfter: number;
  /** The edge's rate limit (src/server/rate-limit.ts), made once at startup; none when off. */
  rateLimiter?: EdgeRateLimiter | undefined;
  log: Logger;
}

/**
 * The edge policy: the server's own refusals, decided from the request head, the peer and the
 * server's state before the request goes further, in this one place for every request of both
 * transports and for every upgrade (node's shouldUpgradeCallback asks it: a refused upgrade is
 * answered as an ordinary request).
 */
export class EdgePolicy {
  readonly #config: EdgePolicyConfig;
  readonly #state: ServerState;
  readonly #retryAfter: string;

  constructor(config: EdgePolicyConfig, state: ServerState) {
    this.#config = config;
    this.#state = state;
    this.#retryAfter = String(config.retryAfter);
  }

  /**
   * `onLane`: the lane's parser has vouched for the head (HTTP/1.x, one valid Host, origin-form,
   * no body framing), so the head checks are skipped. `res`: the request's response on node's
   * path, when there is one yet (none in node's shouldUpgradeCallback).
   */
  refusal(req: IncomingMessage, onLane: boolean, res?: ServerResponse): Refusal {
    const c = this.#config;
    if (c.pressure?.underPressure === true) return Refusal.OVERLOADED;
    if (c.allow !== undefined || c.deny !== undefined) {
      const address = c.remoteOf !== undefined ? c.remoteOf(req).address : (req.socket.remoteAddress ?? '');
      if (c.deny?.has(address) === true || (c.allow !== undefined && !c.allow.has(address)))
        return Refusal.FORBIDDEN;
    }
    if (!onLane) {
      // The access log's response class has added the request id to rawHeaders by now: the
      // header count is of the lines the client sent.
      const lines = (res as LoggedResponse | undefined)?.strataHeadLines ?? req.rawHeaders.length;
      const head = headRefusal(req, c.maxHeaderCount, lines);
      if (head !== HEAD_OK)
        return head === 505
          ? Refusal.VERSION
          : head === 431
            ? Refusal.TOO_MANY_HEADERS
            : head === 501
              ? Refusal.NOT_IMPLEMENTED
              : Refusal.BAD_REQUEST;
    }
    if (c.hostAllowed !== undefined && !c.hostAllowed(req.rawHeaders)) return Refusal.MISDIRECTED;
    if (req.url!.length > c.maxUrlLength) return Refusal.URI_TOO_LONG;
    // 413 from the declared length, before a byte of the body is read (and before 100 Continue).
    if (!onLane && declaredBodyLength(req.rawHeaders) > c.maxBodySize) return Refusal.TOO_LARGE;
    if (this.#state.atCapacity) return Refusal.AT_CAPACITY;
    // Last: a request refused for another reason spends none of the client's budget.
    if (c.rateLimiter !== undefined && !c.rateLimiter.allows(req)) return Refusal.RATE_LIMITED;
    return Refusal.PASS;
  }

  /** Answers a refusal on `res` (node's response, or the lane's bridged one). */
  refuse(kind: Refusal, req: IncomingMessage, res: ServerResponse): void {
    const c = this.#config;
    // Whatever the answer, a refused upgrade's connection is not reused: the client may already
    // be sending WebSocket frames behind its handshake.
    if (req.headers.upgrade !== undefined) res.shouldKeepAlive = false;
    switch (kind) {
      case Refusal.OVERLOADED:
        res.setHeader('retry-after', this.#retryAfter);
        sendPlain(res, 503, 'The server is overloaded; retry shortly');
        return;
      case Refusal.FORBIDDEN:
        res.shouldKeepAlive = false;
        sendPlain(res, 403, 'Forbidden');
        return;
      case Refusal.MISDIRECTED:
        res.shouldKeepAlive = false;
        sendPlain(res, 421, 'This server does not answer for that Host');
        return;
      case Refusal.URI_TOO_LONG:
        res.shouldKeepAlive = false;
        sendPlain(res, 414, `The request target is longer than ${c.maxUrlLength} bytes`);
        return;
      case Refusal.AT_CAPACITY:
        res.setHeader('retry-after', this.#retryAfter);
        sendPlain(res, 503, 'The server is at its concurrency limit; retry shortly');
        return;
      case Refusal.BAD_REQUEST:
        res.shouldKeepAlive = false;
        sendPlain(res, 400, 'Bad request: an invalid request target, Host or Transfer-Encoding');
        return;
      case Refusal.NOT_IMPLEMENTED:
        res.shouldKeepAlive = false;
        sendPlain(res, 501, 'Transfer codings other than chunked are not supported in requests');
        return;
      case Refusal.TOO_MANY_HEADERS:
        res.shouldKeepAlive = false;
        sendPlain(res, 431, `More than ${c.maxHeaderCount} header fields`);
        return;
      case Refusal.VERSION:
        res.shouldKeepAlive = false;
        sendPlain(res, 505, 'Only HTTP/1.x is spoken on this connection');
        return;
      case Refusal.TOO_LARGE:
        c.log.info({ method: req.method, url: req.url, status: 413 }, 'request body over maxBodySize');
        res.shouldKeepAlive = false;
        sendPlain(res, 413, `Request body is larger than the limit of ${c.maxBodySize} bytes`);
        return;
      case Refusal.RATE_LIMITED:
        c.rateLimiter!.refuse(req, res);
        return;
    }
  }
}
