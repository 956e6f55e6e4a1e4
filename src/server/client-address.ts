import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
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

/** `for=` values of RFC 7239 `Forwarded`, in order; quoted, bracketed and port forms handled. */
function forwardedFor(header: string): string[] {
  const out: string[] = [];
  for (const element of header.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq === -1 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
      let value = pair.slice(eq + 1).trim();
      if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      if (value.startsWith('[')) value = value.slice(1, value.indexOf(']'));
      else if (value.split(':').length === 2) value = value.slice(0, value.indexOf(':'));
      out.push(value);
    }
  }
  return out;
}

/**
 * The client address: the socket's peer, unless that peer is a trusted proxy; then the
 * right-most address of `Forwarded` (or else `X-Forwarded-For`) that is not itself trusted.
 * Headers from untrusted peers are ignored, so a client cannot claim another address.
 */
export function clientAddress(req: IncomingMessage, trusted: AddressList): RemoteAddress {
  const socket = req.socket;
  const peer = socket.remoteAddress ?? '';
  const port = socket.remotePort ?? 0;
  if (trusted.size === 0 || !trusted.has(peer)) return { address: peer, port, family: family(peer) };
  const forwarded = req.headers.forwarded;
  const chain =
    forwarded !== undefined
      ? forwardedFor(forwarded)
      : String(req.headers['x-forwarded-for'] ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
  for (let i = chain.length - 1; i >= 0; i--) {
    const hop = chain[i]!;
    if (ipBytes(hop) === undefined) break; // "unknown" or garbage: stop at the last good peer
    if (!trusted.has(hop)) return { address: hop, port: 0, family: family(hop) };
  }
  const first = chain[0];
  return first !== undefined && ipBytes(first) !== undefined
    ? { address: first, port: 0, family: family(first) }
    : { address: peer, port, family: family(peer) };
}

/** `proto=` of each element of RFC 7239 `Forwarded`, in order (`''` where an element has none). */
function forwardedProtos(header: string): { hops: string[]; protos: string[] } {
  const hops: string[] = [];
  const protos: string[] = [];
  for (const element of header.split(',')) {
    let hop = '';
    let proto = '';
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq === -1) continue;
      const key = pair.slice(0, eq).trim().toLowerCase();
      let value = pair.slice(eq + 1).trim();
      if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      if (key === 'proto') proto = value.toLowerCase();
      else if (key === 'for') {
        if (value.startsWith('[')) value = value.slice(1, value.indexOf(']'));
        else if (value.split(':').length === 2) value = value.slice(0, value.indexOf(':'));
        hop = value;
      }
    }
    hops.push(hop);
    protos.push(proto);
  }
  return { hops, protos };
}

/** The index of the hop `clientAddress` picks from a chain: the right-most untrusted one. */
function clientHop(chain: string[], trusted: AddressList): number {
  for (let i = chain.length - 1; i >= 0; i--) {
    const hop = chain[i]!;
    if (ipBytes(hop) === undefined || !trusted.has(hop)) return i;
  }
  return 0;
}

/**
 * The scheme the client used, as a trusted proxy reports it (`Forwarded: proto=`, or else
 * `X-Forwarded-Proto`), lowercased; undefined when the peer is not trusted or reports none.
 * With a chain of proxies, the proto is the one stated for the same hop that `clientAddress`
 * picks, so that the address and the scheme describe the same client.
 */
export function forwardedProto(req: IncomingMessage, trusted: AddressList): string | undefined {
  const peer = req.socket.remoteAddress ?? '';
  if (trusted.size === 0 || !trusted.has(peer)) return undefined;
  const forwarded = req.headers.forwarded;
  if (forwarded !== undefined) {
    const { hops, protos } = forwardedProtos(forwarded);
    const proto = protos[clientHop(hops, trusted)];
    return proto === '' ? undefined : proto;
  }
  const header = req.headers['x-forwarded-proto'];
  if (header === undefined) return undefined;
  const protos = String(header)
    .split(',')
    .map((s) => s.trim().toLowerCase());
  const chain = String(req.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  // One proto per hop: take the client's; otherwise the proxy next to us set a single value.
  const proto = protos.length === chain.length ? protos[clientHop(chain, trusted)]! : protos.at(-1)!;
  return proto === '' ? undefined : proto;
}
