/**
 * The fast lane's request-head parser: a deliberately narrow HTTP/1.1 (RFC 9112) parser for the
 * common request — complete in one buffer, no body, nothing unusual. It answers "not mine"
 * (`DECLINE`) for everything else, and the connection then goes to node's llhttp, which refuses
 * what is malformed exactly as before. So the set of requests it accepts is a strict subset of
 * what llhttp accepts, read the same way: a request it cannot vouch for is never guessed at.
 *
 * Declined (handed to llhttp): Transfer-Encoding (chunked bodies, and every smuggling shape
 * built on it), a Content-Length unless it is the one Content-Length of a POST, PUT, PATCH or
 * DELETE, plain digits up to the caller's `maxBody` (0: no body at all), Upgrade, Expect, a Connection option other than close/keep-alive,
 * a missing or repeated Host, a Host other than `host[:port]` in DNS characters, more
 * header lines than the server's `maxHeaderCount`, obs-fold, bare LF or CR, control or non-ASCII bytes, a method
 * outside the usual seven, a target that is not origin-form in plain URI characters, a version
 * other than HTTP/1.0 or 1.1, and a head larger than `maxHeaderSize`.
 */

import { listElements, TCHAR } from '../../gateway/http.ts';

/** Not complete in this buffer yet (no blank line within `maxHeaderSize`). */
export const INCOMPLETE = -1;
/** Not for the fast lane: llhttp must read this connection from here on. */
export const DECLINE = -2;

/** What the parser found, reused for every request (the caller copies what it keeps). */
export interface RequestHead {
  method: string;
  url: string;
  /** Names as sent, values trimmed, like node's `rawHeaders`. */
  rawHeaders: string[];
  minor: 0 | 1;
  /** `Connection: close` (or HTTP/1.0 without `keep-alive`). */
  close: boolean;
  /** The body's length from its one `Content-Length` (0 without one). */
  bodyLength: number;
}

// node's limit on header lines (its parser answers 431 past it): such heads are node's to refuse.
const MAX_HEADER_FIELDS = 1000;

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

// Origin-form target bytes (RFC 3986 pchar, '/', '?', '%'): no '#', no quote, brace or other
// byte llhttp might read differently. Anything else is declined, not refused.
const TARGET = new Uint8Array(256);
for (const c of "-._~!$&'()*+,;=:@/?%[]") TARGET[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TARGET[c] = 1;
for (let c = 65; c <= 90; c++) TARGET[c] = 1;
for (let c = 97; c <= 122; c++) TARGET[c] = 1;

// Host bytes the lane takes (RFC 3986 reg-name in DNS characters): anything else, an IPv6
// literal included, is declined and checked on node's path (edge-policy.ts, `headRefusal`).
const HOST = new Uint8Array(256);
for (const c of '-._~') HOST[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) HOST[c] = 1;
for (let c = 65; c <= 90; c++) HOST[c] = 1;
for (let c = 97; c <= 122; c++) HOST[c] = 1;

// Field-value bytes (RFC 9110 §5.5 without obs-text): VCHAR, SP, HTAB.
const VALUE = new Uint8Array(256);
VALUE[HTAB] = 1;
for (let c = 32; c <= 126; c++) VALUE[c] = 1;

// Buffer#latin1Slice: toString('latin1', …) without its argument checks (the bounds are ours).
type Latin1 = { latin1Slice(start: number, end: number): string };
function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as Buffer & Latin1).latin1Slice(start, end);
}

/** Whether `buf` holds `word` (ASCII) at `at`. */
function wordAt(buf: Buffer, at: number, word: string): boolean {
  if (at + word.length > buf.length) return false;
  for (let i = 0; i < word.length; i++) if (buf[at + i] !== word.charCodeAt(i)) return false;
  return true;
}

/** The method at `at` (followed by SP), as one of the shared constant strings, or undefined. */
function methodAt(buf: Buffer, at: number): string | undefined {
  switch (buf[at]) {
    case 71: // G
      return buf[at + 1] === 69 && buf[at + 2] === 84 && buf[at + 3] === SP ? 'GET' : undefined;
    case 80: // P
      if (wordAt(buf, at, 'POST ')) return 'POST';
      if (wordAt(buf, at, 'PUT ')) return 'PUT';
      return wordAt(buf, at, 'PATCH ') ? 'PATCH' : undefined;
    case 72: // H
      return wordAt(buf, at, 'HEAD ') ? 'HEAD' : undefined;
    case 68: // D
      return wordAt(buf, at, 'DELETE ') ? 'DELETE' : undefined;
    case 79: // O
      return wordAt(buf, at, 'OPTIONS ') ? 'OPTIONS' : undefined;
    default:
      return undefined;
  }
}

/** Lowercase ASCII compare of `buf[at, at + name.length)` with a lowercase `name`. */
function nameIs(buf: Buffer, at: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) if ((buf[at + i]! | 0x20) !== name.charCodeAt(i)) return false;
  return true;
}

/**
 * Parses the request head starting at `start`. Returns the offset just past it (the next
 * request), `INCOMPLETE` or `DECLINE`; on success `out` holds the request.
 */
export function parseRequestHead(
  buf: Buffer,
  start: number,
  maxHeaderSize: number,
  out: RequestHead,
  maxHeaderCount = MAX_HEADER_FIELDS,
  maxBody = 0,
): number {
  const end = buf.indexOf(CRLFCRLF, start);
  if (end === -1) return buf.length - start > maxHeaderSize ? DECLINE : INCOMPLETE;
  // llhttp counts the request line and the headers against the limit: let it answer 431.
  if (end + 4 - start > maxHeaderSize) return DECLINE;

  const method = methodAt(buf, start);
  if (method === undefined) return DECLINE;
  let i = start + method.length + 1;
  const targetStart = i;
  if (buf[i] !== 47) return DECLINE; // '/'
  while (TARGET[buf[i]!] === 1) i++;
  if (buf[i] !== SP) return DECLINE;
  const targetEnd = i;
  // "HTTP/1.x\r\n"
  if (
    buf[i + 1] !== 72 ||
    buf[i + 2] !== 84 ||
    buf[i + 3] !== 84 ||
    buf[i + 4] !== 80 ||
    buf[i + 5] !== 47 ||
    buf[i + 6] !== 49 ||
    buf[i + 7] !== 46 ||
    buf[i + 9] !== CR ||
    buf[i + 10] !== LF
  )
    return DECLINE;
  const minorByte = buf[i + 8];
  if (minorByte !== 49 && minorByte !== 48) return DECLINE;
  const minor = minorByte === 49 ? 1 : 0;
  i += 11;

  const raw: string[] = [];
  // Past the server's `maxHeaderCount` (node's path answers 431), or node's own limit.
  const maxFields =
    maxHeaderCount > 0 && maxHeaderCount < MAX_HEADER_FIELDS ? maxHeaderCount : MAX_HEADER_FIELDS;
  let hosts = 0;
  // RFC 9112 §9.3: 1.1 persists unless `close`; 1.0 only with `keep-alive`. A `close` anywhere
  // wins (llhttp would keep a 1.0 connection that says both; closing is the safe reading).
  let sawClose = false;
  let sawKeepAlive = false;
  // A Content-Length body (maxBody > 0): POST, PUT, PATCH and DELETE only.
  const bodyAllowed =
    maxBody > 0 && (method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE');
  let bodyLength = -1;
  // `end` is the CR of the blank line's CRLF pair's first half: every header line ends at or
  // before it, and the line ending at `end` is the last.
  while (i < end + 2) {
    const nameStart = i;
    while (TCHAR[buf[i]!] === 1) i++;
    const nameEnd = i;
    // Empty name, obs-fold (a line starting with SP/HTAB), or whitespace before the colon.
    if (nameEnd === nameStart || buf[i] !== COLON) return DECLINE;
    i++;
    while (buf[i] === SP || buf[i] === HTAB) i++;
    const valueStart = i;
    while (VALUE[buf[i]!] === 1) i++;
    // Only CRLF may end the value: a bare CR or LF, a NUL, a control or non-ASCII byte is declined.
    if (buf[i] !== CR || buf[i + 1] !== LF) return DECLINE;
    let valueEnd = i;
    while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) valueEnd--;
    i += 2;

    const nameLength = nameEnd - nameStart;
    switch (nameLength) {
      case 4:
        if (nameIs(buf, nameStart, 'host')) {
          if (!plainHost(buf, valueStart, valueEnd)) return DECLINE;
          hosts++;
        }
        break;
      case 6:
        if (nameIs(buf, nameStart, 'expect')) return DECLINE;
        break;
      case 7:
        if (nameIs(buf, nameStart, 'upgrade')) return DECLINE;
        break;
      case 10:
        if (nameIs(buf, nameStart, 'connection')) {
          const option = connectionOption(buf, valueStart, valueEnd);
          if (option === DECLINE) return DECLINE;
          if (option === 1) sawClose = true;
          else if (option === 2) sawKeepAlive = true;
        }
        break;
      case 14:
        if (nameIs(buf, nameStart, 'content-length')) {
          // One Content-Length of plain digits (RFC 9110 §8.6), no leading zero, up to maxBody:
          // a repeated one, a list, a sign or a length past the limit is node's to judge.
          if (!bodyAllowed || bodyLength !== -1) return DECLINE;
          bodyLength = contentLength(buf, valueStart, valueEnd, maxBody);
          if (bodyLength < 0) return DECLINE;
        }
        break;
      case 16:
        // llhttp reads Proxy-Connection as Connection: so must we, or keep-alive is read two ways.
        if (nameIs(buf, nameStart, 'proxy-connection')) return DECLINE;
        break;
      case 17:
        if (nameIs(buf, nameStart, 'transfer-encoding')) return DECLINE;
        break;
    }
    if (raw.length >= maxFields * 2) return DECLINE;
    raw.push(latin1(buf, nameStart, nameEnd), latin1(buf, valueStart, valueEnd));
  }
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1 (node's requireHostHeader answers 400).
  if (hosts > 1 || (hosts === 0 && minor === 1)) return DECLINE;

  out.method = method;
  out.url = latin1(buf, targetStart, targetEnd);
  out.rawHeaders = raw;
  out.minor = minor;
  out.close = sawClose || (minor === 0 && !sawKeepAlive);
  out.bodyLength = bodyLength === -1 ? 0 : bodyLength;
  return end + 4;
}

/** A Content-Length value of digits only, without a leading zero, at most `max`; else -1. */
function contentLength(buf: Buffer, start: number, end: number, max: number): number {
  const length = end - start;
  if (length === 0 || length > 15 || (buf[start] === 48 && length > 1)) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n <= max ? n : -1;
}

/** Whether `buf[start, end)` is `host[:port]` with a DNS-character host and a port up to 65535. */
function plainHost(buf: Buffer, start: number, end: number): boolean {
  let i = start;
  while (i < end && HOST[buf[i]!] === 1) i++;
  if (i === start) return false;
  if (i === end) return true;
  if (buf[i] !== COLON) return false;
  let port = 0;
  const digits = i + 1;
  for (i++; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return false;
    port = port * 10 + d;
  }
  return end - digits <= 5 && port <= 65535;
}

/** A Connection value: 1 close, 2 keep-alive, 0 empty, DECLINE for any other option. */
function connectionOption(buf: Buffer, start: number, end: number): number {
  const value = latin1(buf, start, end).toLowerCase();
  if (value === 'keep-alive') return 2;
  if (value === 'close') return 1;
  let result = 0;
  // OWS-trimmed elements (RFC 9110 §5.6.1), as llhttp reads them: `String.trim()` would also drop
  // VT, FF and NBSP, which the value scan declines today but which are not OWS.
  for (const token of listElements(value)) {
    if (token === 'close') result = 1;
    else if (token === 'keep-alive') result = result === 1 ? 1 : 2;
    else if (token !== '') return DECLINE;
  }
  return result;
}
