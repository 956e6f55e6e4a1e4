/**
 * Reads the server name and the ALPN protocols of a TLS ClientHello from the first bytes of a
 * connection, without consuming them — for the TLS-ALPN-01 challenge (RFC 8737), which must be
 * told apart from an ordinary handshake for the same name before a certificate is chosen (node's
 * `SNICallback` is not told the ALPN list).
 *
 * Strict and bounded: one TLS record (RFC 8446 §5.1: at most 2^14 bytes of payload) holding the
 * whole ClientHello (§4.1.2); every length checked against what contains it. Anything else is
 * `invalid`, which only means "not a challenge": the bytes go to the TLS server untouched, and
 * it judges them.
 */

/** What a ClientHello says. */
export interface ClientHelloInfo {
  /** The SNI host name (RFC 6066 §3), lower case, if one was sent. */
  servername: string | undefined;
  /** The ALPN protocol names offered (RFC 7301 §3.1), in order; empty if none. */
  alpn: string[];
}

/** The most bytes a ClientHello in one record takes: the 5-byte header and 2^14 of payload. */
export const CLIENT_HELLO_MAX_BYTES = 5 + 16_384;

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;

/**
 * The ClientHello at the start of `data`: its info, `'more'` when the record is not complete yet,
 * or `'invalid'` when the bytes are not one (a record of another type, a bad length, a hello
 * that spans records).
 */
export function readClientHello(data: Uint8Array): ClientHelloInfo | 'more' | 'invalid' {
  if (data.length >= 1 && data[0] !== HANDSHAKE) return 'invalid';
  if (data.length < 5) return 'more';
  // legacy_record_version: 0x0301 (TLS 1.0, as clients send for compatibility) to 0x0303.
  if (data[1] !== 3 || data[2]! < 1 || data[2]! > 3) return 'invalid';
  const recordLength = (data[3]! << 8) | data[4]!;
  if (recordLength < 4 || recordLength > 16_384) return 'invalid';
  if (data.length < 5 + recordLength) return 'more';
  const r = new Reader(data, 5, 5 + recordLength);
  if (r.u8() !== CLIENT_HELLO) return 'invalid';
  const helloLength = r.u24();
  // The whole hello in this record (a hello split across records is not a challenge's).
  if (helloLength !== r.left) return 'invalid';
  r.skip(2 + 32); // legacy_version, random
  r.skip(r.u8()); // legacy_session_id <0..32>
  const suites = r.u16();
  if (suites < 2 || suites % 2 !== 0) return 'invalid';
  r.skip(suites);
  const compression = r.u8();
  if (compression < 1) return 'invalid';
  r.skip(compression);
  const info: ClientHelloInfo = { servername: undefined, alpn: [] };
  if (r.failed) return 'invalid';
  if (r.left === 0) return info; // no extensions (an old client)
  const extensionsLength = r.u16();
  const extensionsEnd = r.at + extensionsLength;
  if (extensionsEnd !== r.end) return 'invalid';
  const seen = new Set<number>();
  while (!r.failed && r.at < extensionsEnd) {
    const type = r.u16();
    const length = r.u16();
    const end = r.at + length;
    if (r.failed || end > extensionsEnd) return 'invalid';
    // RFC 8446 §4.2: no extension twice.
    if (seen.has(type)) return 'invalid';
    seen.add(type);
    if (type === EXT_SERVER_NAME && length > 0) {
      const name = readServerName(new Reader(data, r.at, end));
      if (name === undefined) return 'invalid';
      info.servername = name;
    } else if (type === EXT_ALPN) {
      const alpn = readAlpn(new Reader(data, r.at, end));
      if (alpn === undefined) return 'invalid';
      info.alpn = alpn;
    }
    r.at = end;
  }
  return r.failed ? 'invalid' : info;
}

// RFC 6066 §3: ServerNameList <1..2^16-1> of { name_type, HostName <1..2^16-1> }.
function readServerName(r: Reader): string | undefined {
  const listLength = r.u16();
  const listEnd = r.at + listLength;
  if (listEnd !== r.end) return undefined;
  let name: string | undefined;
  while (!r.failed && r.at < listEnd) {
    const type = r.u8();
    const length = r.u16();
    if (r.failed || length < 1 || r.at + length > listEnd) return undefined;
    // One host_name (type 0); RFC 6066 forbids two names of the same type.
    if (type === 0) {
      if (name !== undefined) return undefined;
      const bytes = r.bytes(length);
      if (bytes === undefined || length > 253) return undefined;
      name = Buffer.from(bytes).toString('latin1').toLowerCase();
      if (!/^[a-z0-9.-]+$/.test(name)) return undefined;
    } else r.skip(length);
  }
  return r.failed || name === undefined ? undefined : name;
}

// RFC 7301 §3.1: ProtocolNameList <2..2^16-1> of ProtocolName <1..2^8-1>.
function readAlpn(r: Reader): string[] | undefined {
  const listLength = r.u16();
  const listEnd = r.at + listLength;
  if (listEnd !== r.end || listLength < 2) return undefined;
  const names: string[] = [];
  while (!r.failed && r.at < listEnd) {
    const length = r.u8();
    if (length < 1 || r.at + length > listEnd) return undefined;
    const bytes = r.bytes(length);
    if (bytes === undefined) return undefined;
    names.push(Buffer.from(bytes).toString('latin1'));
  }
  return r.failed ? undefined : names;
}

/** A bounds-checked cursor: reading past `end` sets `failed` and returns 0. */
class Reader {
  at: number;
  readonly end: number;
  failed = false;
  readonly #data: Uint8Array;

  constructor(data: Uint8Array, at: number, end: number) {
    this.#data = data;
    this.at = at;
    this.end = end;
  }

  get left(): number {
    return this.end - this.at;
  }

  u8(): number {
    if (this.at + 1 > this.end) return this.#fail();
    return this.#data[this.at++]!;
  }

  u16(): number {
    if (this.at + 2 > this.end) return this.#fail();
    const v = (this.#data[this.at]! << 8) | this.#data[this.at + 1]!;
    this.at += 2;
    return v;
  }

  u24(): number {
    if (this.at + 3 > this.end) return this.#fail();
    const v = (this.#data[this.at]! << 16) | (this.#data[this.at + 1]! << 8) | this.#data[this.at + 2]!;
    this.at += 3;
    return v;
  }

  skip(n: number): void {
    if (this.at + n > this.end) this.#fail();
    else this.at += n;
  }

  bytes(n: number): Uint8Array | undefined {
    if (this.at + n > this.end) {
      this.#fail();
      return undefined;
    }
    const out = this.#data.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  #fail(): number {
    this.failed = true;
    this.at = this.end;
    return 0;
  }
}
