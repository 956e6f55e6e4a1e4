import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Transform } from 'node:stream';
import { CompressibleTypes, isCompressibleStatus } from '../../gateway/http/compressible.ts';
import { negotiateEncoding } from '../../gateway/http/negotiate.ts';
import { listElements, rawHeaderList, trimOws } from '../../gateway/http.ts';
import type { BodyEncoder } from '../../gateway/index.ts';
import { Codecs } from './codecs.ts';
import type { ContentCoding, ResolvedCompressionOptions } from './options.ts';

/** What the rules say for one response. */
export const SKIP = 0; // sent as is, no Vary: nothing about it depends on Accept-Encoding
export const IDENTITY = 1; // sent as is, with Vary: another client may get it compressed
export type Decision = typeof SKIP | typeof IDENTITY | ContentCoding;

type HeaderValue = string | number | string[] | undefined;

function text(value: HeaderValue): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** `Vary` with `Accept-Encoding` in it, merged with what is there (never duplicated); `*` stays. */
export function varyWithAcceptEncoding(vary: HeaderValue): string | undefined {
  const current = text(vary);
  if (current === undefined || trimOws(current) === '') return 'Accept-Encoding';
  for (const part of listElements(current)) {
    const name = part.toLowerCase();
    if (name === '*' || name === 'accept-encoding') return undefined;
  }
  return `${current}, Accept-Encoding`;
}

/** The `Accept-Encoding` of a request, read from rawHeaders (several fields are one list). */
export function acceptEncodingOf(req: IncomingMessage): string | undefined {
  return rawHeaderList(req.rawHeaders, 'accept-encoding');
}

/**
 * The server's response compression: the rules of what is compressed, and the `BodyEncoder`
 * the gateway calls for fetch apps. Built once per server from resolved options.
 *
 * Skipped (sent as is): status 204, 206, 304 and 1xx; a `Content-Encoding` already set;
 * `Cache-Control: no-transform` (RFC 9110 §7.7); a type not in `types`; a known length under
 * `threshold`. HEAD is decided as GET would be (RFC 9110 §9.3.2: the same header fields), without
 * compressing anything. A known length over `maxSize` is sent as is (with Vary). Otherwise `Vary: Accept-Encoding` is merged in — also when this client gets
 * identity, since another would get it compressed — and if the client accepts a coding the
 * body is compressed: `Content-Encoding` set, `Content-Length` recomputed (known bodies) or
 * removed (streams), a strong `ETag` made weak (the bytes differ; nginx does the same) and
 * `Accept-Ranges` removed (ranges would address the compressed bytes).
 */
export class ResponseCompressor implements BodyEncoder {
  readonly codecs: Codecs;
  #threshold: number;
  #syncLimit: number;
  #maxSize: number;
  #encodings: readonly ContentCoding[];
  #types: CompressibleTypes;
  // Clients send a handful of distinct Accept-Encoding values: remember the answers (bounded).
  #negotiated = new Map<string, ContentCoding | undefined>();

  constructor(options: ResolvedCompressionOptions) {
    this.codecs = new Codecs(options.levels);
    this.#threshold = options.threshold;
    this.#syncLimit = options.syncLimit;
    this.#maxSize = options.maxSize;
    this.#encodings = options.encodings;
    this.#types = new CompressibleTypes(options.types);
  }

  /** Known bodies above this many bytes are not compressed in a synchronous call. */
  get syncLimit(): number {
    return this.#syncLimit;
  }

  /** The coding this request's client would get, or `undefined` for identity. */
  codingFor(req: IncomingMessage): ContentCoding | undefined {
    const accept = acceptEncodingOf(req);
    if (accept === undefined) return undefined;
    const negotiated = this.#negotiated;
    if (negotiated.has(accept)) return negotiated.get(accept);
    const choice = negotiateEncoding(accept, this.#encodings);
    // identity, or nothing acceptable at all: identity anyway (as nginx and Caddy do).
    const coding = choice === 'identity' || choice === null ? undefined : choice;
    if (negotiated.size >= 512) negotiated.clear();
    negotiated.set(accept, coding);
    return coding;
  }

  /**
   * The rules, on header values as they are (`length` -1 when unknown). `coding` is what the
   * client accepts (from `codingFor`).
   */
  decide(
    // Not consulted: HEAD is decided as GET, for the same headers (RFC 9110 §9.3.2).
    _method: string | undefined,
    status: number,
    contentType: HeaderValue,
    contentEncoding: HeaderValue,
    cacheControl: HeaderValue,
    length: number,
    coding: ContentCoding | undefined,
  ): Decision {
    if (!isCompressibleStatus(status)) return SKIP;
    if (contentEncoding !== undefined) return SKIP;
    if (cacheControl !== undefined && text(cacheControl)!.toLowerCase().includes('no-transform')) return SKIP;
    const type = text(contentType);
    if (type === undefined || !this.#types.has(type)) return SKIP;
    if (length !== -1 && length < this.#threshold) return SKIP;
    if (length > this.#maxSize) return IDENTITY;
    return coding ?? IDENTITY;
  }

  /** Applies a decision to a node headers object (lowercase names). */
  #edit(headers: OutgoingHttpHeaders, decision: Decision): void {
    if (decision === SKIP) return;
    const vary = varyWithAcceptEncoding(headers.vary);
    if (vary !== undefined) headers.vary = vary;
    if (decision === IDENTITY) return;
    headers['content-encoding'] = decision;
    delete headers['content-length'];
    delete headers['accept-ranges'];
    const etag = headers.etag;
    if (typeof etag === 'string' && etag.startsWith('"')) headers.etag = `W/${etag}`;
  }

  /** The rules first, Accept-Encoding only if they leave it to the client. */
  #decideFor(req: IncomingMessage, status: number, headers: OutgoingHttpHeaders, length: number): Decision {
    const decision = this.decide(
      req.method,
      status,
      headers['content-type'],
      headers['content-encoding'],
      headers['cache-control'],
      length,
      undefined,
    );
    if (decision === SKIP) return SKIP;
    return this.codingFor(req) ?? IDENTITY;
  }

  /**
   * A known body: compressed in one synchronous call up to `syncLimit` bytes; above it, off the
   * event loop (`Codecs.whole` on the thread pool), returned as a promise of the same bytes
   * (headers edited already). The promise rejects if the client leaves first: the compressor is
   * destroyed then, so a client that asks and hangs up does not leave work queued behind it.
   */
  encodeKnown(
    req: IncomingMessage,
    status: number,
    headers: OutgoingHttpHeaders,
    body: string | Uint8Array,
  ): string | Uint8Array | Promise<Uint8Array> {
    // A string has at least as many bytes as UTF-16 units: enough to pass the threshold without
    // counting bytes; the exact count is needed only to compress.
    const units = body.length;
    const atLeast =
      typeof body !== 'string' ? body.byteLength : units >= this.#threshold ? units : Buffer.byteLength(body);
    const decision = this.#decideFor(req, status, headers, atLeast);
    this.#edit(headers, decision);
    if (decision === SKIP || decision === IDENTITY) return body;
    const length = typeof body === 'string' ? Buffer.byteLength(body) : atLeast;
    // Over syncLimit, a synchronous call would hold the event loop (~50–150 ms for 5.6 MB).
    if (length > this.#syncLimit) return this.#later(decision, body, length, req.socket);
    return this.codecs.compress(decision, body, length);
  }

  #later(
    coding: ContentCoding,
    body: string | Uint8Array,
    length: number,
    socket: Socket | undefined,
  ): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      if (socket?.destroyed === true) {
        reject(new Error('the client closed the connection before its body was compressed'));
        return;
      }
      const stream = this.codecs.whole(coding, length);
      const chunks: Buffer[] = [];
      let size = 0;
      const gone = (): void => {
        stream.destroy(new Error('the client closed the connection before its body was compressed'));
      };
      socket?.once('close', gone);
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
      });
      stream.once('end', () => {
        socket?.off('close', gone);
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      });
      stream.once('error', (err) => {
        socket?.off('close', gone);
        reject(err);
      });
      stream.end(body);
    });
  }

  /**
   * The headers of a HEAD response, edited as the same GET's would be (RFC 9110 §9.3.2): Vary,
   * Content-Encoding, a weak ETag, no Accept-Ranges. `length` is the GET body's length if known
   * (-1 if not); a compressed GET's Content-Length is only known by compressing, so HEAD leaves
   * it out (deletes `content-length`), as §9.3.2 allows. `streamed`: the GET's body would be a
   * stream (or a file), not a known body — the same decision either way. For a gateway to call
   * where a HEAD response has no body to encode.
   */
  encodeHead(
    req: IncomingMessage,
    status: number,
    headers: OutgoingHttpHeaders,
    length: number,
    _streamed: boolean,
  ): void {
    this.#edit(headers, this.#decideFor(req, status, headers, length));
  }

  encodeStream(
    req: IncomingMessage,
    status: number,
    headers: OutgoingHttpHeaders,
    length: number,
    live: boolean,
  ): Transform | undefined {
    const decision = this.#decideFor(req, status, headers, length);
    this.#edit(headers, decision);
    if (decision === SKIP || decision === IDENTITY) return undefined;
    return this.codecs.stream(decision, live);
  }
}
