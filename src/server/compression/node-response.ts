import type { IncomingMessage, OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Transform } from 'node:stream';
import { isBodilessResponse } from '../../gateway/http.ts';
import {
  type Decision,
  IDENTITY,
  type ResponseCompressor,
  SKIP,
  varyWithAcceptEncoding,
} from './compressor.ts';
import type { ContentCoding } from './options.ts';

/**
 * Compression for node-style apps (Express, Connect, Koa's callback), which write `res`
 * themselves. strata replaces `writeHead`, `write` and `end` on that one response object — own
 * properties, the prototype is untouched — and only when compression is on:
 *
 * - when the client accepts a coding, all three: the rules are applied when the head is written;
 *   a body given whole to `end()` (what `res.send()` and `res.json()` do) is compressed in one
 *   synchronous call with a new `Content-Length` — or, over `syncLimit`, through a stream off
 *   the event loop, chunked; `write()`s go through a compressing stream that flushes after
 *   each write, so an SSE event leaves at once;
 * - for HEAD, the headers are edited as for GET (RFC 9110 §9.3.2) and nothing is compressed:
 *   node sends no body, and no Content-Length once a coding is named;
 * - when it accepts none, only `writeHead`, to add `Vary: Accept-Encoding` where another
 *   client would get the response compressed.
 */

type WriteCallback = (error?: Error | null) => void;
type Write = ServerResponse['write'];
type End = ServerResponse['end'];
type WriteHead = ServerResponse['writeHead'];
// node's own methods, called with the argument shapes each accepts.
type Original<R> = (this: ServerResponse, ...args: unknown[]) => R;

class CompressionState {
  compressor: ResponseCompressor;
  req: IncomingMessage;
  /** What the client accepts. */
  accepted: ContentCoding | undefined;
  /** What this response is being compressed with, once the head is written. */
  coding: ContentCoding | undefined;
  /** The whole body, while `end(body)` writes the head (undefined otherwise). */
  whole: string | Uint8Array | undefined;
  stream: Transform | undefined;
  ended: boolean;
  /** A HEAD request: headers as for GET, no body to compress. */
  head: boolean;
  /** The whole body is over `syncLimit`: it goes through a stream, off the event loop. */
  offload: boolean;
  writeHead: Original<ServerResponse>;
  write: Original<boolean>;
  end: Original<ServerResponse>;

  constructor(
    compressor: ResponseCompressor,
    req: IncomingMessage,
    res: ServerResponse,
    accepted: ContentCoding | undefined,
  ) {
    this.compressor = compressor;
    this.req = req;
    this.accepted = accepted;
    this.coding = undefined;
    this.whole = undefined;
    this.stream = undefined;
    this.ended = false;
    this.head = req.method === 'HEAD';
    this.offload = false;
    this.writeHead = res.writeHead as Original<ServerResponse>;
    this.write = res.write as Original<boolean>;
    this.end = res.end as Original<ServerResponse>;
  }
}

const kState = Symbol('strata.compression');
type Wrapped = ServerResponse & { [kState]: CompressionState };

/** Wraps `res` of a node-style app for compression (see above). */
export function compressNodeResponse(
  compressor: ResponseCompressor,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const accepted = compressor.codingFor(req);
  (res as Wrapped)[kState] = new CompressionState(compressor, req, res, accepted);
  res.writeHead = writeHead as WriteHead;
  if (accepted === undefined) return;
  res.write = write as Write;
  res.end = end as End;
}

function applyHeaders(res: ServerResponse, headers: OutgoingHttpHeaders | OutgoingHttpHeader[]): void {
  if (Array.isArray(headers)) {
    // node accepts [[name, value], …] and a flat [name, value, name, value, …].
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as [string, string][]) res.appendHeader(pair[0], pair[1]);
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2)
        res.appendHeader(String(headers[i]), headers[i + 1] as string | string[]);
    }
    return;
  }
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) res.setHeader(name, value);
  }
}

function writeHead(
  this: Wrapped,
  statusCode: number,
  reason?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
  headers?: OutgoingHttpHeaders | OutgoingHttpHeader[],
): ServerResponse {
  const state = this[kState];
  let statusMessage: string | undefined;
  if (typeof reason === 'string') statusMessage = reason;
  else if (reason !== undefined && reason !== null) headers = reason;
  // Headers given here join those set before, so that the rules see them all.
  if (headers !== undefined && headers !== null && !this.headersSent) applyHeaders(this, headers);
  if (!this.headersSent) {
    const whole = state.whole;
    let length = whole !== undefined ? byteLength(whole) : lengthOf(this.getHeader('content-length'));
    // HEAD ended without a body (Express's send() does so, after setting the GET's length):
    // the GET's length is the one stated, if any.
    if (length === 0 && state.head) length = Math.max(0, lengthOf(this.getHeader('content-length')));
    const decision = state.compressor.decide(
      state.req.method,
      statusCode,
      this.getHeader('content-type'),
      this.getHeader('content-encoding'),
      this.getHeader('cache-control'),
      length,
      state.accepted,
    );
    edit(this, state, decision);
    // node sets Content-Length itself for end(body) only while the head is unwritten; the head
    // is written here, so do what it would have done.
    if (
      whole !== undefined &&
      state.coding === undefined &&
      !isBodilessResponse(state.req.method, statusCode) &&
      !this.hasHeader('content-length') &&
      !this.hasHeader('transfer-encoding')
    )
      this.setHeader('content-length', length);
  }
  return statusMessage === undefined
    ? state.writeHead.call(this, statusCode)
    : state.writeHead.call(this, statusCode, statusMessage);
}

function byteLength(body: string | Uint8Array): number {
  return typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
}

function lengthOf(value: number | string | string[] | undefined): number {
  if (value === undefined || Array.isArray(value)) return -1;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : -1;
}

function edit(res: ServerResponse, state: CompressionState, decision: Decision): void {
  if (decision === SKIP) return;
  const vary = varyWithAcceptEncoding(res.getHeader('vary'));
  if (vary !== undefined) res.setHeader('vary', vary);
  if (decision === IDENTITY) return;
  state.coding = decision;
  res.setHeader('content-encoding', decision);
  res.removeHeader('content-length');
  res.removeHeader('accept-ranges');
  const etag = res.getHeader('etag');
  if (typeof etag === 'string' && etag.startsWith('"')) res.setHeader('etag', `W/${etag}`);
  const whole = state.whole;
  if (whole !== undefined && !state.head) {
    const length = byteLength(whole);
    if (length > state.compressor.syncLimit) {
      state.offload = true;
      return;
    }
    const compressed = state.compressor.codecs.compress(decision, whole, length);
    state.whole = compressed;
    res.setHeader('content-length', compressed.length);
  }
}

function toBytes(chunk: unknown, encoding: BufferEncoding | undefined): string | Uint8Array {
  if (typeof chunk === 'string')
    return encoding === undefined || encoding === 'utf8' || encoding === 'utf-8'
      ? chunk
      : Buffer.from(chunk, encoding);
  if (chunk instanceof Uint8Array) return chunk;
  throw new TypeError(
    `The "chunk" argument must be of type string or an instance of Buffer or Uint8Array, got ${typeof chunk}`,
  );
}

function write(
  this: Wrapped,
  chunk: unknown,
  encoding?: BufferEncoding | WriteCallback,
  callback?: WriteCallback,
): boolean {
  const state = this[kState];
  if (typeof encoding === 'function') {
    callback = encoding;
    encoding = undefined;
  }
  if (!this.headersSent) this.writeHead(this.statusCode);
  if (state.coding === undefined || state.ended || state.head)
    return state.write.call(this, chunk, encoding, callback);
  return streamOf(this, state, true).write(toBytes(chunk, encoding), callback);
}

function end(
  this: Wrapped,
  chunk?: unknown,
  encoding?: BufferEncoding | WriteCallback,
  callback?: () => void,
): ServerResponse {
  const state = this[kState];
  if (typeof chunk === 'function') {
    callback = chunk as () => void;
    chunk = undefined;
    encoding = undefined;
  } else if (typeof encoding === 'function') {
    callback = encoding as () => void;
    encoding = undefined;
  }
  if (state.ended) return state.end.call(this, callback);
  state.ended = true;
  const body = chunk === undefined || chunk === null ? undefined : toBytes(chunk, encoding);
  if (!this.headersSent) {
    // The whole body is known: the head is written with its compressed length.
    state.whole = body ?? '';
    this.writeHead(this.statusCode);
    const whole = state.whole;
    state.whole = undefined;
    if (state.coding === undefined || state.head) return state.end.call(this, body, callback);
    if (state.offload) return endThroughStream(this, state, whole, callback);
    return state.end.call(this, whole, callback);
  }
  if (state.coding === undefined || state.head) return state.end.call(this, body, callback);
  const stream = state.stream;
  if (stream === undefined) {
    // The head went out first (writeHead, then end(body)): one synchronous call, or a stream
    // off the loop over syncLimit.
    const whole = body ?? '';
    const length = byteLength(whole);
    if (length > state.compressor.syncLimit) return endThroughStream(this, state, whole, callback);
    return state.end.call(this, state.compressor.codecs.compress(state.coding, whole, length), callback);
  }
  if (callback !== undefined) this.once('finish', callback);
  if (body === undefined) stream.end();
  else stream.end(body);
  return this;
}

/** A whole body compressed on the thread pool (a zlib stream), not in a synchronous call. */
function endThroughStream(
  res: Wrapped,
  state: CompressionState,
  body: string | Uint8Array,
  callback: (() => void) | undefined,
): ServerResponse {
  const stream = streamOf(res, state, false);
  if (callback !== undefined) res.once('finish', callback);
  stream.end(body);
  return res;
}

/** The compressing stream of a response written in pieces: its output goes to node's `write`. */
function streamOf(res: Wrapped, state: CompressionState, live: boolean): Transform {
  let stream = state.stream;
  if (stream !== undefined) return stream;
  stream = state.compressor.codecs.stream(state.coding!, live);
  state.stream = stream;
  const compressed = stream;
  compressed.on('data', (out: Buffer) => {
    if (!state.write.call(res, out)) compressed.pause();
  });
  compressed.on('end', () => {
    if (!res.destroyed) state.end.call(res);
  });
  // A failing compressor cannot send a status any more: close, as for any broken stream.
  compressed.on('error', () => res.destroy());
  // node's own drain resumes the compressor; the compressor's drain is the app's signal to
  // write more (its write() returned the compressor's answer).
  res.on('drain', () => compressed.resume());
  compressed.on('drain', () => res.emit('drain'));
  // A client gone mid-stream: free the compressor (zlib's native memory) at once.
  res.once('close', () => compressed.destroy());
  return compressed;
}
