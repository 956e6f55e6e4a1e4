/**
 * The headers a proxy rewrites on the way through: hop-by-hop fields removed both ways
 * (RFC 9110 §7.6.1), `Via` added (§7.6.3), and the client's address, scheme and host stated
 * to the upstream in `X-Forwarded-*` and `Forwarded` (RFC 7239) — appended to what a trusted
 * peer sent, in place of what anyone else sent.
 */

/** Which forwarding headers are written (the edge's `trustProxyHeader`: the ones its proxies believe). */
export type ForwardingHeaders = 'x-forwarded-for' | 'forwarded' | 'both';

/** What the forwarding headers state about the client's leg. */
export interface ClientLeg {
  /** The peer's address (the socket's). */
  readonly address: string;
  /** Whether that peer is a trusted proxy: its forwarding headers are kept and appended to. */
  readonly trusted: boolean;
  /** `http` or `https`: the scheme this hop was reached with. */
  readonly proto: string;
}

/** How the request's headers are rewritten. */
export interface RequestRewrite {
  readonly forwarding: ForwardingHeaders;
  /** The client's Host (`pass`), or this value (the upstream's host:port). */
  readonly host: string | undefined;
  /** `1.1 <via>` appended to `Via`; undefined: none. */
  readonly via: string | undefined;
}

// RFC 9110 §7.6.1 and §7.8: fields that describe one connection, never forwarded. Proxy-* are
// the proxy's own (Proxy-Authorization is for us; Proxy-Connection is a legacy Connection).
// Expect is answered here (node sends the 100 itself); the upstream gets the body regardless.
function hopByHop(lower: string): boolean {
  switch (lower.length) {
    case 2:
      return lower === 'te';
    case 6:
      return lower === 'expect';
    case 7:
      return lower === 'trailer' || lower === 'upgrade';
    case 10:
      return lower === 'connection' || lower === 'keep-alive';
    case 17:
      return lower === 'transfer-encoding';
    default:
      return lower.startsWith('proxy-');
  }
}

/** The field names a `Connection` value lists (lowercase), besides close and keep-alive. */
function connectionOptions(value: string, into: Set<string>): void {
  for (const part of value.split(',')) {
    const token = part.trim().toLowerCase();
    if (token !== '' && token !== 'close' && token !== 'keep-alive') into.add(token);
  }
}

/** The `Connection` values of a raw header list, or undefined when none names a field. */
function namedInConnection(raw: readonly string[]): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    const value = raw[i + 1]!;
    const lower = value.toLowerCase();
    if (lower === 'keep-alive' || lower === 'close') continue;
    named ??= new Set();
    connectionOptions(value, named);
  }
  return named;
}

/** A Forwarded node (RFC 7239 §6): IPv6 in brackets, quoted; IPv4 as is. */
function forwardedNode(address: string): string {
  return address.includes(':') ? `"[${address}]"` : address;
}

/** A Forwarded value: a token as is, anything else as a quoted-string. */
function forwardedValue(value: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '')}"`;
}

/**
 * The headers to send upstream, as a flat `[name, value, …]` list, from the client's raw list
 * (node's `rawHeaders` shape). `upgrade` keeps the `Upgrade` request's own WebSocket fields
 * (undici writes `Connection`/`Upgrade` itself).
 */
export function forwardRequestHeaders(
  raw: readonly string[],
  leg: ClientLeg,
  rewrite: RequestRewrite,
): string[] {
  const named = namedInConnection(raw);
  const out: string[] = [];
  let host: string | undefined;
  let xff: string | undefined;
  let xfp: string | undefined;
  let xfh: string | undefined;
  let forwarded: string | undefined;
  let via: string | undefined;
  let authority: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    // HTTP/2 pseudo-headers (a client of node's http2 compatibility API): the authority is the Host.
    if (name.charCodeAt(0) === 58 /* : */) {
      if (name === ':authority') authority = value;
      continue;
    }
    const lower = name.toLowerCase();
    // Host is never the connection's (a `Connection: host` would send the upstream an empty
    // Host, while the routes matched the real one).
    if (hopByHop(lower) || (named?.has(lower) === true && lower !== 'host')) continue;
    switch (lower) {
      case 'host':
        host ??= value;
        continue;
      case 'x-forwarded-for':
        xff = xff === undefined ? value : `${xff}, ${value}`;
        continue;
      case 'x-forwarded-proto':
        xfp ??= value;
        continue;
      case 'x-forwarded-host':
        xfh ??= value;
        continue;
      case 'forwarded':
        forwarded = forwarded === undefined ? value : `${forwarded}, ${value}`;
        continue;
      case 'via':
        via = via === undefined ? value : `${via}, ${value}`;
        continue;
    }
    out.push(name, value);
  }
  const clientHost = host ?? authority ?? '';
  out.push('host', rewrite.host ?? clientHost);
  const trusted = leg.trusted;
  if (rewrite.forwarding !== 'forwarded') {
    out.push('x-forwarded-for', trusted && xff !== undefined ? `${xff}, ${leg.address}` : leg.address);
    out.push('x-forwarded-proto', trusted && xfp !== undefined ? xfp : leg.proto);
    if (clientHost !== '' || (trusted && xfh !== undefined))
      out.push('x-forwarded-host', trusted && xfh !== undefined ? xfh : clientHost);
  }
  if (rewrite.forwarding !== 'x-forwarded-for') {
    let element = `for=${forwardedNode(leg.address)};proto=${leg.proto}`;
    if (clientHost !== '') element += `;host=${forwardedValue(clientHost)}`;
    out.push('forwarded', trusted && forwarded !== undefined ? `${forwarded}, ${element}` : element);
  }
  if (rewrite.via !== undefined) out.push('via', via === undefined ? rewrite.via : `${via}, ${rewrite.via}`);
  else if (via !== undefined) out.push('via', via);
  return out;
}

/**
 * A copy of `forwardRequestHeaders`' list with Host set to `host` (`host: 'upstream'`). The name
 * is looked for at even indexes only: a client's header value may read `host` too.
 */
export function withHost(headers: readonly string[], host: string): string[] {
  const out = headers.slice();
  let at = 0;
  while (at < out.length && out[at] !== 'host') at += 2;
  out[at] = 'host';
  out[at + 1] = host;
  return out;
}

// Buffer#latin1Slice: toString('latin1') without its argument checks.
type Latin1 = { latin1Slice(start: number, end: number): string };
function latin1(buf: Buffer): string {
  return (buf as Buffer & Latin1).latin1Slice(0, buf.length);
}

/** A response head from an upstream, filtered for the client. */
export interface ResponseHead {
  /** Flat `[name, value, …]`, hop-by-hop fields removed, `Via` added. */
  headers: string[];
  /**
   * The upstream's Content-Length, or -1 without one; NaN for framing that cannot be relayed
   * (a Content-Length list, a transfer coding other than chunked).
   */
  length: number;
}

/**
 * The upstream's response headers (undici's raw `Buffer` pairs) for the client: hop-by-hop
 * fields and those `Connection` names removed, `Via` added (`via` is `1.1 strata`).
 */
export function forwardResponseHeaders(raw: readonly Buffer[], via: string | undefined): ResponseHead {
  const names: string[] = new Array<string>(raw.length >> 1);
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i]!);
    names[i >> 1] = name;
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      const value = latin1(raw[i + 1]!);
      const lower = value.toLowerCase();
      if (lower !== 'keep-alive' && lower !== 'close') {
        named ??= new Set();
        connectionOptions(value, named);
      }
    }
  }
  const headers: string[] = [];
  let length = -1;
  let sawVia = false;
  let coded = false;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const lower = name.toLowerCase();
    if (hopByHop(lower) || named?.has(lower) === true) {
      // Transfer-Encoding is stripped: a coding besides chunked would reach the client unnamed.
      if (
        lower === 'transfer-encoding' &&
        latin1(raw[2 * i + 1]!)
          .trim()
          .toLowerCase() !== 'chunked'
      )
        coded = true;
      continue;
    }
    const buf = raw[2 * i + 1]!;
    let value = latin1(buf);
    if (lower === 'content-length') length = Number(value);
    else if (lower === 'via' && via !== undefined) {
      value = `${value}, ${via}`;
      sawVia = true;
    }
    headers.push(name, value);
  }
  if (via !== undefined && !sawVia) headers.push('via', via);
  return { headers, length: coded ? Number.NaN : length };
}
