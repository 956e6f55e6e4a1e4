import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { trimOws } from '../gateway/http.ts';
import type { RemoteAddress } from '../gateway/types.ts';

/**
 * IP lists (`10.0.0.0/8`, `::1`, `2001:db8::/32`, and the names `loopback`, `private`,
 * `linklocal`) and the client address behind trusted proxies.
 */

const NAMED: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
};

interface Range {
  bytes: Uint8Array;
  prefix: number;
}

/** 16 bytes for any address; IPv4 (and IPv4-mapped IPv6) as ::ffff:a.b.c.d. Undefined if not an IP. */
export function ipBytes(address: string): Uint8Array | undefined {
  let ip = address;
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  const zone = ip.indexOf('%');
  if (zone !== -1) ip = ip.slice(0, zone);
  const kind = isIP(ip);
  if (kind === 4) {
    const out = new Uint8Array(16);
    out[10] = 0xff;
    out[11] = 0xff;
    ip.split('.').forEach((part, i) => {
      out[12 + i] = Number(part);
    });
    return out;
  }
  if (kind !== 6) return undefined;
  let head = ip;
  let v4: number[] = [];
  const lastColon = ip.lastIndexOf(':');
  if (ip.includes('.', lastColon)) {
    v4 = ip
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    head = `${ip.slice(0, lastColon + 1)}0:0`;
  }
  const [left, right] = head.split('::') as [string, string | undefined];
  const l = left === '' ? [] : left.split(':');
  const r = right === undefined ? [] : right === '' ? [] : right.split(':');
  const groups =
    right === undefined ? l : [...l, ...new Array<string>(8 - l.length - r.length).fill('0'), ...r];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = Number.parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  });
  if (v4.length === 4) for (let i = 0; i < 4; i++) out[12 + i] = v4[i]!;
  return out;
}

function parseRange(entry: string): Range {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const bytes = ipBytes(address);
  if (bytes === undefined) throw new TypeError(`Not an IP address or CIDR range: ${JSON.stringify(entry)}`);
  const v4 = isIP(address) === 4;
  const max = v4 ? 32 : 128;
  const bits = slash === -1 ? max : Number(entry.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < 0 || bits > max)
    throw new TypeError(`Bad prefix length in ${JSON.stringify(entry)}`);
  return { bytes, prefix: v4 ? bits + 96 : bits };
}

/** A list of addresses and ranges, matched against an address string. */
export class AddressList {
  #ranges: Range[];

  constructor(entries: readonly string[]) {
    this.#ranges = entries.flatMap((e) => (NAMED[e] ?? [e]).map(parseRange));
  }

  get size(): number {
    return this.#ranges.length;
  }

  has(address: string): boolean {
    const bytes = ipBytes(address);
    if (bytes === undefined) return false;
    for (const { bytes: net, prefix } of this.#ranges) {
      const whole = prefix >> 3;
      const rest = prefix & 7;
      let same = true;
      for (let i = 0; i < whole && same; i++) same = bytes[i] === net[i];
      if (same && rest !== 0) {
        const mask = (0xff << (8 - rest)) & 0xff;
        same = (bytes[whole]! & mask) === (net[whole]! & mask);
      }
      if (same) return true;
    }
    return false;
  }
}

function family(address: string): RemoteAddress['family'] {
  const kind = isIP(address);
  return kind === 4 ? 'IPv4' : kind === 6 ? 'IPv6' : '';
}

/**
 * At most this many hops of a forwarding header are walked (from the right). Real chains are a
 * few proxies long; a 16 KB header of 4,000 hops is an attack on the parser, and a chain longer
 * than this is treated as one whose next hop cannot be read.
 */
export const MAX_FORWARDED_HOPS = 32;

/** One hop of a forwarding chain: a node of RFC 7239 §6 that names an IP address. */
export interface ForwardedNode {
  address: string;
  /** The port stated with the address, or 0 (none, or an obfuscated `_port`). */
  port: number;
}

const PORT = /^[0-9]{1,5}$/;
const OBFUSCATED_PORT = /^_[A-Za-z0-9._-]+$/;
const SCHEME = /^[a-z][a-z0-9+.-]*$/;

function portOf(text: string): number | undefined {
  if (PORT.test(text)) {
    const port = Number(text);
    return port <= 65535 ? port : undefined;
  }
  return OBFUSCATED_PORT.test(text) ? 0 : undefined;
}

/**
 * A hop's node: `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]`, `[2001:db8::1]:4711`, or a bare
 * `2001:db8::1` (X-Forwarded-For writes IPv6 without brackets). Anything else — `unknown`, an
 * obfuscated `_hidden` (RFC 7239 §6.3), a name, an empty hop, a stray character — is
 * undefined: a hop whose sender cannot be known.
 */
export function parseForwardedNode(value: string): ForwardedNode | undefined {
  if (value.length === 0) return undefined;
  if (value.charCodeAt(0) === 91 /* [ */) {
    const close = value.indexOf(']');
    if (close === -1) return undefined;
    const address = value.slice(1, close);
    if (isIP(address) !== 6) return undefined;
    if (close === value.length - 1) return { address, port: 0 };
    if (value.charCodeAt(close + 1) !== 58 /* : */) return undefined;
    const port = portOf(value.slice(close + 2));
    return port === undefined ? undefined : { address, port };
  }
  const colon = value.indexOf(':');
  if (colon === -1) return isIP(value) === 4 ? { address: value, port: 0 } : undefined;
  if (value.indexOf(':', colon + 1) === -1) {
    const address = value.slice(0, colon);
    if (isIP(address) !== 4) return undefined;
    const port = portOf(value.slice(colon + 1));
    return port === undefined ? undefined : { address, port };
  }
  return isIP(value) === 6 ? { address: value, port: 0 } : undefined;
}

/**
 * The last `max` comma-separated elements of `header`, right-most first, trimmed, into `out`.
 * Read from the right so that a long client-written head of the
 * header costs nothing: the hops that matter are the ones the trusted proxies appended.
 */
function lastElements(header: string, max: number, out: string[]): void {
  let end = header.length;
  for (let n = 0; n < max; n++) {
    const comma = end === 0 ? -1 : header.lastIndexOf(',', end - 1);
    out.push(trimOws(header.slice(comma + 1, end)));
    if (comma === -1) return;
    end = comma;
  }
}

function countElements(header: string): number {
  let n = 1;
  for (let at = header.indexOf(','); at !== -1; at = header.indexOf(',', at + 1)) n += 1;
  return n;
}

/**
 * The `for=` and `proto=` of one RFC 7239 element; undefined when the element is malformed (a
 * parameter twice, a broken quoted-string, a pair without `=`). Elements are split on every
 * comma and pairs on every semicolon, quotes or not: no `for`, `proto` or `host` value can hold
 * either, and a quote-aware split would let a client's unterminated `"` swallow the element the
 * proxy appended after it.
 */
function forwardedElement(element: string): { node: string | undefined; proto: string } | undefined {
  let node: string | undefined;
  let proto: string | undefined;
  let start = 0;
  while (start <= element.length) {
    let end = element.indexOf(';', start);
    if (end === -1) end = element.length;
    const pair = trimOws(element.slice(start, end));
    start = end + 1;
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) return undefined;
    const name = trimOws(pair.slice(0, eq)).toLowerCase();
    let value = trimOws(pair.slice(eq + 1));
    if (value.charCodeAt(0) === 34 /* " */) {
      if (value.length < 2 || value.charCodeAt(value.length - 1) !== 34) return undefined;
      value = value.slice(1, -1);
      // A quoted-pair or an inner quote: no node or scheme needs one.
      if (value.includes('"') || value.includes('\\')) return undefined;
    }
    if (name === 'for') {
      if (node !== undefined) return undefined;
      node = value;
    } else if (name === 'proto') {
      if (proto !== undefined) return undefined;
      proto = value.toLowerCase();
    }
  }
  return { node, proto: proto !== undefined && SCHEME.test(proto) ? proto : '' };
}

/** Which hop of the forwarding headers is the client; see `forwardedHop`. */
export interface ForwardedHop {
  /** The client, or undefined for the socket's peer (no hop could be believed). */
  node: ForwardedNode | undefined;
  /**
   * The element (counted from the right, 0 = the one the peer appended) at which the walk
   * stopped: written by a trusted proxy, it describes the client's leg (its `proto`). -1 when
   * there is none.
   */
  depth: number;
}

const PEER: ForwardedHop = { node: undefined, depth: -1 };

function sameAddress(a: ForwardedNode, b: ForwardedNode): boolean {
  const x = ipBytes(a.address)!;
  const y = ipBytes(b.address)!;
  for (let i = 0; i < 16; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * The client among the hops of `X-Forwarded-For` and RFC 7239 `Forwarded` (header values as
 * node combines repeated lines: joined with `, `), for a request whose socket peer is trusted.
 *
 * The walk goes right to left, each hop having been written by the trusted proxy to its right
 * (the peer for the right-most): the first hop that is not trusted is the client. A hop that
 * cannot be read (`unknown`, `_hidden`, garbage) ends the walk, and so does the hop cap: then
 * the client is the last address a trusted proxy stated — the hop to its right, or the peer —
 * never a hop further left, which anyone could have written. A chain trusted all the way is
 * answered with its left-most hop, which a trusted proxy stated.
 *
 * With both headers present, one of them may have come from the client untouched (a proxy that
 * writes only one passes the other through), so neither is believed alone: a hop counts only
 * where both state the same address, and the first place they differ ends the walk.
 */
export function forwardedHop(
  xForwardedFor: string | undefined,
  forwarded: string | undefined,
  trusted: AddressList,
): ForwardedHop {
  if (xForwardedFor === undefined && forwarded === undefined) return PEER;
  let hops: (ForwardedNode | undefined)[];
  let xff: (ForwardedNode | undefined)[] | undefined;
  if (xForwardedFor !== undefined) {
    const elements: string[] = [];
    lastElements(xForwardedFor, MAX_FORWARDED_HOPS, elements);
    xff = elements.map(parseForwardedNode);
  }
  let fwd: (ForwardedNode | undefined)[] | undefined;
  if (forwarded !== undefined) {
    const elements: string[] = [];
    lastElements(forwarded, MAX_FORWARDED_HOPS, elements);
    fwd = elements.map((e) => {
      const node = forwardedElement(e)?.node;
      return node === undefined ? undefined : parseForwardedNode(node);
    });
  }
  if (xff !== undefined && fwd !== undefined) {
    const n = Math.max(xff.length, fwd.length);
    hops = new Array<ForwardedNode | undefined>(n);
    for (let d = 0; d < n; d++) {
      const a = xff[d];
      const b = fwd[d];
      hops[d] = a !== undefined && b !== undefined && sameAddress(a, b) ? a : undefined;
    }
  } else hops = (xff ?? fwd)!;
  let answer: ForwardedNode | undefined;
  for (let d = 0; d < hops.length; d++) {
    const hop = hops[d];
    if (hop === undefined) return { node: answer, depth: d };
    if (!trusted.has(hop.address)) return { node: hop, depth: d };
    answer = hop;
  }
  // Trusted all the way: the left-most hop, stated by a trusted proxy (or, past the cap, the
  // last one walked: the next was not read).
  return { node: answer, depth: hops.length - 1 };
}

/**
 * Which forwarding headers trusted proxies write (`trustProxyHeader`): `x-forwarded-for` (with
 * `X-Forwarded-Proto`; `Forwarded` is ignored), `forwarded` (RFC 7239; `X-Forwarded-*` ignored),
 * or `both` (each believed only where the other agrees).
 */
export type TrustProxyHeader = 'x-forwarded-for' | 'forwarded' | 'both';
export const TRUST_PROXY_HEADERS: readonly TrustProxyHeader[] = ['x-forwarded-for', 'forwarded', 'both'];

/** `trustProxyHeader` checked, `both` when absent. */
export function resolveTrustProxyHeader(value: unknown): TrustProxyHeader {
  if (value === undefined) return 'both';
  if (!TRUST_PROXY_HEADERS.includes(value as TrustProxyHeader))
    throw new TypeError(
      `serve(): option trustProxyHeader must be one of ${TRUST_PROXY_HEADERS.map((h) => `'${h}'`).join(', ')}, got ${String(value)}`,
    );
  return value as TrustProxyHeader;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * The client address: the socket's peer, unless that peer is a trusted proxy; then the hop of
 * `X-Forwarded-For` / `Forwarded` that `forwardedHop` picks (of the header `header` names, or of
 * both). Headers from untrusted peers are ignored, so a client cannot claim another address.
 */
export function clientAddress(
  req: IncomingMessage,
  trusted: AddressList,
  header: TrustProxyHeader = 'both',
): RemoteAddress {
  // A request whose socket node has already detached (an answer sent before its body ended)
  // has none: no peer then, rather than a TypeError in a log line.
  const socket = req.socket as typeof req.socket | null;
  const peer = socket?.remoteAddress ?? '';
  const port = socket?.remotePort ?? 0;
  if (trusted.size === 0 || !trusted.has(peer)) return { address: peer, port, family: family(peer) };
  const headers = req.headers;
  const node = forwardedHop(
    header === 'forwarded' ? undefined : headerText(headers['x-forwarded-for']),
    header === 'x-forwarded-for' ? undefined : headerText(headers.forwarded),
    trusted,
  ).node;
  return node === undefined
    ? { address: peer, port, family: family(peer) }
    : { address: node.address, port: node.port, family: family(node.address) };
}

/** `proto=` of the element `depth` places from the right of a `Forwarded` header. */
function forwardedProtoAt(header: string, depth: number): string {
  const elements: string[] = [];
  lastElements(header, depth + 1, elements);
  if (elements.length <= depth) return '';
  return forwardedElement(elements[depth]!)?.proto ?? '';
}

/** The `X-Forwarded-Proto` for the hop `depth` places from the right of `X-Forwarded-For`. */
function xForwardedProtoAt(header: string, chain: string, depth: number): string {
  // One proto per hop: take the client's; otherwise the proxy next to us set a single value.
  const count = countElements(header);
  const at = count === countElements(chain) ? depth : 0;
  const elements: string[] = [];
  lastElements(header, at + 1, elements);
  const proto = (elements[at] ?? '').toLowerCase();
  return SCHEME.test(proto) ? proto : '';
}

/**
 * The scheme the client used, as a trusted proxy reports it (`Forwarded: proto=`, or
 * `X-Forwarded-Proto`), lowercased; undefined when the peer is not trusted or reports none.
 * The proto is the one stated for the same hop that `clientAddress` picks, so that the address
 * and the scheme describe the same client; with both `Forwarded` and `X-Forwarded-*` present,
 * they must state the same proto (one of them may be the client's own) — unless `header` names
 * the one the proxies write, and the other is ignored.
 */
export function forwardedProto(
  req: IncomingMessage,
  trusted: AddressList,
  header: TrustProxyHeader = 'both',
): string | undefined {
  const peer = (req.socket as typeof req.socket | null)?.remoteAddress ?? '';
  if (trusted.size === 0 || !trusted.has(peer)) return undefined;
  const headers = req.headers;
  const forwarded = header === 'x-forwarded-for' ? undefined : headerText(headers.forwarded);
  const xff = header === 'forwarded' ? undefined : headerText(headers['x-forwarded-for']);
  const xfp = header === 'forwarded' ? undefined : headerText(headers['x-forwarded-proto']);
  if (forwarded === undefined && xfp === undefined) return undefined;
  const depth = forwardedHop(xff, forwarded, trusted).depth;
  let proto: string | undefined;
  if (forwarded !== undefined) proto = depth === -1 ? '' : forwardedProtoAt(forwarded, depth);
  if (xfp !== undefined) {
    const stated = xForwardedProtoAt(xfp, xff ?? '', Math.max(depth, 0));
    if (proto !== undefined && proto !== stated) return undefined;
    proto = stated;
  } else if (xff !== undefined && forwarded !== undefined) return undefined;
  return proto === '' ? undefined : proto;
}

/**
 * The server's client addressing from its options: the trusted proxies, and — when there are any —
 * the client's address (`remoteOf`) and whether it used TLS (`secureOf`, from the proxy's
 * X-Forwarded-Proto / Forwarded proto=), both undefined without trusted proxies (the socket says).
 */
export function proxyAddressing(
  trustProxy: string[] | undefined,
  trustProxyHeader: unknown,
): {
  trusted: AddressList;
  remoteOf: ((req: IncomingMessage) => RemoteAddress) | undefined;
  secureOf: ((req: IncomingMessage) => boolean) | undefined;
} {
  const trusted = new AddressList(trustProxy ?? []);
  // Checked (and refused when not one of the three) whether or not a proxy is trusted.
  const header = resolveTrustProxyHeader(trustProxyHeader);
  if (trusted.size === 0) return { trusted, remoteOf: undefined, secureOf: undefined };
  return {
    trusted,
    remoteOf: (req) => clientAddress(req, trusted, header),
    secureOf: (req) => {
      const proto = forwardedProto(req, trusted, header);
      return proto !== undefined ? proto === 'https' : (req.socket as TLSSocket).encrypted === true;
    },
  };
}
