import { createReadStream } from 'node:fs';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Transform, Writable } from 'node:stream';
import type { BodyEncoder } from './body-encoder.ts';
import { clientGone } from './errors.ts';
import { FastHeaders, HeaderStore } from './fast-headers.ts';
import { type FastParts, FastResponse } from './fast-response.ts';
import { filePathOf } from './file-body.ts';
import { isBodilessResponse } from './http.ts';

/**
 * Writes a web `Response` to node's `ServerResponse`.
 *
 * Known bodies (string, bytes, null, an `openFile` Blob) go out with `writeHead` + `end` and a
 * `Content-Length`, no web stream involved; streams are pumped with backpressure (`write` →
 * `drain`) and cancelled when the client leaves. RFC 9110 §9.3.2 / §15.3.5 / §15.4.5: no body
 * for HEAD, 204 and 304. An encoder (the server's compression) may compress a big known body
 * off the event loop: its head is then written when the compressed bytes are there.
 */

export type ErrorSink = (error: unknown, req: IncomingMessage, res: ServerResponse) => void;

const JSON_TYPE = 'application/json';

function bodyless(req: IncomingMessage, status: number): boolean {
  return isBodilessResponse(req.method, status);
}

/** Returns a node headers object (lowercase keys; `set-cookie` as an array). */
function toNodeHeaders(
  init: HeadersInit | FastHeaders | undefined,
  contentType: string | undefined,
): OutgoingHttpHeaders {
  // Already normalized, with the default type applied; the response is being sent, so its
  // record can carry the length too.
  if (init instanceof FastHeaders) return FastHeaders.record(init) as OutgoingHttpHeaders;
  if (init === undefined) {
    if (contentType === JSON_TYPE) return { 'content-type': JSON_TYPE };
    return contentType === undefined ? {} : { 'content-type': contentType };
  }
  // Names from the app: a store with nothing inherited (`constructor`, `__proto__` are names).
  const out = new HeaderStore() as OutgoingHttpHeaders;
  if (init instanceof Headers) {
    copyHeaders(init, out);
  } else if (Array.isArray(init) || Symbol.iterator in init) {
    // Any iterable of pairs (an array, a Map) is a valid HeadersInit (Fetch §5.2).
    for (const pair of init as Iterable<[string, string]>) {
      if (pair.length !== 2) throw new TypeError('Headers pairs must have exactly two items: [name, value]');
      append(out, pair[0]!.toLowerCase(), String(pair[1]));
    }
  } else {
    const record = init as Record<string, string>;
    for (const key in record) append(out, key.toLowerCase(), String(record[key]));
  }
  if (contentType !== undefined && out['content-type'] === undefined) out['content-type'] = contentType;
  return out;
}

function isHttpWhitespace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13;
}

function append(out: OutgoingHttpHeaders, key: string, raw: string): void {
  // Fetch "normalize": leading and trailing HTTP whitespace (CR and LF included) is trimmed, as
  // undici does; what remains is validated by node's writeHead.
  let value = raw;
  if (
    value.length > 0 &&
    (isHttpWhitespace(value.charCodeAt(0)) || isHttpWhitespace(value.charCodeAt(value.length - 1)))
  ) {
    value = value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  }
  const prev = out[key];
  if (prev === undefined) out[key] = key === 'set-cookie' ? [value] : value;
  else if (Array.isArray(prev)) prev.push(value);
  else out[key] = `${prev}, ${value}`;
}

function copyHeaders(headers: Headers, out: OutgoingHttpHeaders): void {
  // Fetch iteration yields each Set-Cookie on its own and combines every other header.
  for (const [key, value] of headers) {
    if (key === 'set-cookie') {
      const prev = out[key];
      if (Array.isArray(prev)) prev.push(value);
      else out[key] = [value];
    } else out[key] = value;
  }
}

/**
 * Writes `response` to `res`; errors (bad headers, failing streams) go to `onError`. An
 * `encoder` (the server's compression) sees every response that carries a body.
 */
export function writeResponse(
  response: Response,
  req: IncomingMessage,
  res: ServerResponse,
  onError: ErrorSink,
  encoder?: BodyEncoder,
): void {
  const parts = FastResponse.parts(response);
  if (parts !== undefined) {
    writeFast(parts, req, res, onError, encoder);
    return;
  }
  if (res.destroyed) {
    response.body?.cancel(clientGone()).catch(ignore);
    return;
  }
  const status = response.status;
  const headers = new HeaderStore() as OutgoingHttpHeaders;
  copyHeaders(response.headers, headers);
  const body = response.body;
  if (body === null || bodyless(req, status)) {
    if (body !== null) {
      body.cancel().catch(ignore);
      // HEAD: the headers the GET would get (its body would be streamed).
      if (encoder !== undefined && req.method === 'HEAD')
        encoder.encodeHead?.(req, status, headers, -1, true);
    } else if (headers['content-length'] === undefined && !bodyless(req, status)) {
      headers['content-length'] = 0;
    }
    res.writeHead(status, response.statusText || undefined, headers);
    res.end();
    return;
  }
  const transform = encoder?.encodeStream(req, status, headers, -1, true);
  res.writeHead(status, response.statusText || undefined, headers);
  pump(body, req, res, onError, transform);
}

function writeFast(
  parts: FastParts,
  req: IncomingMessage,
  res: ServerResponse,
  onError: ErrorSink,
  encoder: BodyEncoder | undefined,
): void {
  const body = parts.body;
  if (res.destroyed) {
    if (body instanceof ReadableStream) body.cancel(clientGone()).catch(ignore);
    return;
  }
  const status = parts.status;
  let headers = toNodeHeaders(parts.headers, parts.contentType);
  // An encoder edits the headers in place; a FastHeaders record may be shared with other
  // responses (`new Response(body, { headers: cached.headers })`), so it gets a copy.
  if (encoder !== undefined && parts.headers instanceof FastHeaders)
    headers = Object.assign(new HeaderStore(), headers) as OutgoingHttpHeaders;
  const statusText = parts.statusText || undefined;
  const noBody = bodyless(req, status);
  if (typeof body === 'string') {
    if (encoder !== undefined) {
      if (!noBody) {
        const out = encoder.encodeKnown(req, status, headers, body);
        if (out !== body) {
          if (out instanceof Promise) writeLater(out, status, statusText, headers, req, res, onError);
          else {
            headers['content-length'] = out.length;
            res.writeHead(status, statusText, headers);
            res.end(out);
          }
          return;
        }
      } else if (req.method === 'HEAD') {
        encodeHead(encoder, req, status, headers, Buffer.byteLength(body));
        res.writeHead(status, statusText, headers);
        res.end();
        return;
      }
    }
    if (status !== 204 && status !== 304) headers['content-length'] = Buffer.byteLength(body);
    res.writeHead(status, statusText, headers);
    if (noBody) res.end();
    else res.end(body);
    return;
  }
  if (body === null) {
    if (!isBodilessResponse(undefined, status)) headers['content-length'] = 0;
    res.writeHead(status, statusText, headers);
    res.end();
    return;
  }
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) {
    let bytes = body instanceof Uint8Array ? body : new Uint8Array(body);
    if (encoder !== undefined) {
      if (!noBody) {
        const out = encoder.encodeKnown(req, status, headers, bytes);
        if (out instanceof Promise) {
          writeLater(out, status, statusText, headers, req, res, onError);
          return;
        }
        bytes = out as Uint8Array;
      } else if (req.method === 'HEAD') {
        encodeHead(encoder, req, status, headers, bytes.byteLength);
        res.writeHead(status, statusText, headers);
        res.end();
        return;
      }
    }
    if (status !== 204 && status !== 304) headers['content-length'] = bytes.byteLength;
    res.writeHead(status, statusText, headers);
    if (noBody) res.end();
    else res.end(bytes);
    return;
  }
  if (body instanceof Blob) {
    if (status !== 204 && status !== 304) headers['content-length'] = body.size;
    let transform: Transform | undefined;
    if (encoder !== undefined) {
      if (!noBody) transform = encoder.encodeStream(req, status, headers, body.size, false);
      else if (req.method === 'HEAD') encoder.encodeHead?.(req, status, headers, body.size, true);
    }
    res.writeHead(status, statusText, headers);
    if (noBody) res.end();
    else {
      const path = filePathOf(body);
      if (path !== undefined) sendFile(path, body.size, req, res, onError, transform);
      else pump(body.stream(), req, res, onError, transform);
    }
    return;
  }
  let transform: Transform | undefined;
  if (encoder !== undefined) {
    if (!noBody) transform = encoder.encodeStream(req, status, headers, -1, true);
    else if (req.method === 'HEAD') encoder.encodeHead?.(req, status, headers, -1, true);
  }
  res.writeHead(status, statusText, headers);
  if (noBody) {
    body.cancel().catch(ignore);
    res.end();
  } else pump(body, req, res, onError, transform);
}

/**
 * A HEAD response's headers as its GET's would be (RFC 9110 §9.3.2): the GET's Content-Length,
 * which the encoder removes where it names a coding (the compressed length is not known).
 */
function encodeHead(
  encoder: BodyEncoder,
  req: IncomingMessage,
  status: number,
  headers: OutgoingHttpHeaders,
  length: number,
): void {
  if (status !== 204 && status !== 304) headers['content-length'] = length;
  encoder.encodeHead?.(req, status, headers, length, false);
}

/**
 * A known body the encoder compresses off the event loop: the head is written once the bytes
 * are there, with their Content-Length. A client gone meanwhile is nobody's error.
 */
function writeLater(
  pending: Promise<Uint8Array>,
  status: number,
  statusText: string | undefined,
  headers: OutgoingHttpHeaders,
  req: IncomingMessage,
  res: ServerResponse,
  onError: ErrorSink,
): void {
  pending.then(
    (out) => {
      if (res.destroyed) return;
      headers['content-length'] = out.byteLength;
      try {
        res.writeHead(status, statusText, headers);
        res.end(out);
      } catch (err) {
        onError(err, req, res);
      }
    },
    (err: unknown) => {
      if (!res.destroyed) onError(err, req, res);
    },
  );
}

/**
 * Sends what is written to `transform` on to `res`, and frees the transform (zlib's native
 * memory) when the client leaves first. Returns what the body is to be written into.
 */
function through(
  transform: Transform | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  onError: ErrorSink,
): Writable {
  if (transform === undefined) return res;
  transform.on('error', (err) => {
    if (!res.destroyed) onError(err, req, res);
  });
  res.once('close', () => transform.destroy());
  transform.pipe(res);
  return transform;
}

function sendFile(
  path: string,
  size: number,
  req: IncomingMessage,
  res: ServerResponse,
  onError: ErrorSink,
  transform: Transform | undefined,
): void {
  const sink = through(transform, req, res, onError);
  if (size === 0) {
    sink.end();
    return;
  }
  // The Blob fixed the length; a file that shrinks meanwhile ends early and the socket is closed.
  const file = createReadStream(path, { start: 0, end: size - 1 });
  file.on('error', (err) => {
    if (!res.destroyed) onError(err, req, res);
  });
  res.once('close', () => file.destroy());
  file.pipe(sink);
}

function waitDrain(sink: Writable, res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      sink.off('drain', done);
      res.off('close', done);
      resolve();
    };
    sink.on('drain', done);
    res.on('close', done);
  });
}

/** Copies a web stream to `res`, waiting for `drain` whenever node's buffer is full. */
async function pump(
  stream: ReadableStream<Uint8Array | string>,
  req: IncomingMessage,
  res: ServerResponse,
  onError: ErrorSink,
  transform?: Transform,
): Promise<void> {
  const sink = through(transform, req, res, onError);
  const reader = stream.getReader();
  const onClose = (): void => {
    if (!res.writableFinished) reader.cancel(clientGone()).catch(ignore);
  };
  res.once('close', onClose);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
        throw new TypeError(
          `Response body streams must yield Uint8Array or string chunks, got ${typeof value}`,
        );
      }
      if (!sink.write(value)) await waitDrain(sink, res);
    }
    // A client gone mid-stream is reported so the server can note it at debug level; it is not
    // the app's error.
    if (res.destroyed) onError(clientGone(), req, res);
    else sink.end();
  } catch (err) {
    // A stream that fails because the client left is not the app's error.
    if (!res.destroyed) onError(err, req, res);
    reader.cancel(err).catch(ignore);
  } finally {
    res.off('close', onClose);
  }
}

function ignore(): void {}
