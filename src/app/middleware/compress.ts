import { FastResponse } from '../../gateway/fast-response.ts';
import {
  COMPRESSIBLE_TYPES,
  CompressibleTypes,
  isCompressibleStatus,
} from '../../gateway/http/compressible.ts';
import { negotiateEncoding } from '../../gateway/http/negotiate.ts';
import type { Context } from '../context.ts';
import type { Middleware, Next } from '../types.ts';

/** A content coding `compress()` can produce. */
export type CompressEncoding = 'br' | 'zstd' | 'gzip' | 'deflate';

/** Defaults of `compress()`; docs/app.md shows the same. */
export const COMPRESS_DEFAULTS = {
  /** Bodies of a known length under this many bytes go out as they are (a header costs more). */
  threshold: 1024,
  /** In order of preference, where the runtime's `CompressionStream` supports them. */
  encodings: ['br', 'zstd', 'gzip', 'deflate'] as readonly CompressEncoding[],
} as const;

export interface CompressOptions {
  /** Codings offered, in order of preference. Default br, zstd, gzip, deflate (those the runtime has). */
  encodings?: readonly CompressEncoding[];
  /** Smallest body, in bytes, worth compressing (when its length is known). Default 1024. */
  threshold?: number;
  /** Media types to compress (`type/subtype`, `type/*`, `type/*+suffix`). Default: the edge's text-like list. */
  types?: readonly string[];
}

/** The `CompressionStream` format of each content coding, by the names runtimes have used. */
const FORMATS: Record<CompressEncoding, readonly string[]> = {
  br: ['brotli', 'br'],
  zstd: ['zstd'],
  gzip: ['gzip'],
  deflate: ['deflate'],
};

/** The format this runtime's `CompressionStream` accepts for a coding, or undefined. */
function formatFor(encoding: CompressEncoding): string | undefined {
  if (typeof CompressionStream !== 'function') return undefined;
  for (const format of FORMATS[encoding]) {
    try {
      new CompressionStream(format as CompressionFormat);
      return format;
    } catch {
      // Not this name on this runtime.
    }
  }
  return undefined;
}

/** The content codings this runtime's `CompressionStream` can produce, in the default order. */
export function supportedEncodings(): CompressEncoding[] {
  return COMPRESS_DEFAULTS.encodings.filter((e) => formatFor(e) !== undefined);
}

/**
 * Response compression as app middleware, for runtimes without strata's server: negotiates
 * `Accept-Encoding` with the edge's own `negotiateEncoding` and compresses with the web-standard
 * `CompressionStream` (gzip and deflate everywhere; br and zstd where the runtime's stream has
 * them: Node 24 has br as `brotli`). It leaves alone what should not be compressed: a response
 * that already has a `Content-Encoding`, `Cache-Control: no-transform`, a type outside the list,
 * a body under the threshold, 204/304/206 and HEAD. Compressible responses always get
 * `Vary: Accept-Encoding`; a strong ETag becomes weak (the bytes differ from the identity's).
 * On strata's server, prefer the edge's `compression` option (the same rules, in one write for
 * known bodies).
 *
 * @example
 * app.use(compress());
 */
export function compress(options: CompressOptions = {}): Middleware {
  const threshold = options.threshold ?? COMPRESS_DEFAULTS.threshold;
  if (!Number.isInteger(threshold) || threshold < 0)
    throw new TypeError(`compress({ threshold }) must be a whole number of bytes ≥ 0, got ${threshold}`);
  const wanted = options.encodings ?? COMPRESS_DEFAULTS.encodings;
  const offered: CompressEncoding[] = [];
  const formats = new Map<CompressEncoding, string>();
  for (const encoding of wanted) {
    if (!(encoding in FORMATS))
      throw new TypeError(`compress({ encodings }): unknown coding ${JSON.stringify(encoding)}`);
    const format = formatFor(encoding);
    if (format === undefined) {
      // Named explicitly but absent here: say so rather than silently never use it.
      if (options.encodings !== undefined)
        throw new TypeError(`compress({ encodings }): this runtime's CompressionStream has no ${encoding}`);
      continue;
    }
    offered.push(encoding);
    formats.set(encoding, format);
  }
  const types = new CompressibleTypes(options.types ?? COMPRESSIBLE_TYPES);

  return async (c: Context, next: Next) => {
    const res = await next();
    return compressed(c, res, offered, formats, threshold, types);
  };
}

async function compressed(
  c: Context,
  res: Response,
  offered: CompressEncoding[],
  formats: Map<CompressEncoding, string>,
  threshold: number,
  types: CompressibleTypes,
): Promise<Response> {
  const status = res.status;
  if (!isCompressibleStatus(status)) return res;
  const headers = res.headers;
  const type = headers.get('content-type');
  // Server-sent events must reach the client as they are written, not when a compressor flushes.
  if (type === null || !types.has(type) || /^\s*text\/event-stream/i.test(type)) return res;
  if (headers.has('content-encoding') || headers.has('content-range')) return res;
  const cacheControl = headers.get('cache-control');
  if (cacheControl !== null && /(?:^|,)\s*no-transform\s*(?:,|$)/i.test(cacheControl)) return res;
  // Before `res.body`, which turns strata's FastResponse into a stream.
  const known = knownSize(res, threshold);
  if ((known !== undefined && known < threshold) || res.body === null) return res;
  let body: ReadableStream<Uint8Array> = res.body as ReadableStream<Uint8Array>;
  if (known === undefined && threshold > 0) {
    // Length unknown (a native Response, a stream): read up to `threshold` bytes to find out.
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    let done = false;
    while (total < threshold) {
      const step = await reader.read();
      if (step.done) {
        done = true;
        break;
      }
      chunks.push(step.value);
      total += step.value.byteLength;
    }
    if (done) {
      const whole = new Uint8Array(total);
      let at = 0;
      for (const chunk of chunks) {
        whole.set(chunk, at);
        at += chunk.byteLength;
      }
      return new Response(whole, { status, statusText: res.statusText, headers });
    }
    body = rejoin(chunks, reader);
  }
  const choice =
    c.req.method === 'HEAD'
      ? 'identity'
      : negotiateEncoding(c.req.headers.get('accept-encoding') ?? undefined, offered);
  if (choice === 'identity' || choice === null) {
    // The answer depends on Accept-Encoding whenever it could have been compressed: caches must know.
    if (body === res.body) {
      try {
        appendVary(headers);
        return res;
      } catch {
        // Immutable headers (a fetch() result): answer with a copy below.
      }
    }
    const out = new Headers(headers);
    appendVary(out);
    return new Response(body, { status, statusText: res.statusText, headers: out });
  }
  const out = new Headers(headers);
  appendVary(out);
  out.set('content-encoding', choice);
  out.delete('content-length');
  const etag = out.get('etag');
  if (etag?.startsWith('"')) out.set('etag', `W/${etag}`);
  const stream = body.pipeThrough(
    new CompressionStream(formats.get(choice) as CompressionFormat) as ReadableWritablePair<
      Uint8Array,
      Uint8Array
    >,
  );
  return new Response(stream, { status, statusText: res.statusText, headers: out });
}

/** The chunks already read, then the rest of the reader. */
function rejoin(
  prefix: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i < prefix.length) {
        controller.enqueue(prefix[i]!);
        prefix[i++] = EMPTY;
        return;
      }
      const step = await reader.read();
      if (step.done) controller.close();
      else controller.enqueue(step.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

const EMPTY = new Uint8Array(0);

/**
 * The body's size in bytes when it is known without reading it (its header, or the known body of
 * strata's `FastResponse`); for a string, only as far as comparing it with `threshold` needs.
 */
function knownSize(res: Response, threshold: number): number | undefined {
  const length = res.headers.get('content-length');
  if (length !== null && /^\d+$/.test(length)) return Number(length);
  const body = FastResponse.parts(res)?.body;
  if (typeof body === 'string') {
    // UTF-8 takes 1 to 3 bytes per UTF-16 code unit: count only when the bounds do not decide.
    if (body.length >= threshold || body.length * 3 < threshold) return body.length;
    return new TextEncoder().encode(body).byteLength;
  }
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) return body.byteLength;
  if (body instanceof Blob) return body.size;
  return undefined;
}

function appendVary(headers: Headers): void {
  const vary = headers.get('vary');
  if (vary === null) headers.set('vary', 'Accept-Encoding');
  else if (!/(?:^|,)\s*(?:accept-encoding|\*)\s*(?:,|$)/i.test(vary))
    headers.set('vary', `${vary}, Accept-Encoding`);
}
