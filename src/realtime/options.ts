import { normalizeOrigin } from '../gateway/websocket-handshake.ts';
/**
 * Every WebSocket limit, with its default, in one place. docs/realtime.md shows the same table,
 * and a test checks the two against each other.
 */
export const REALTIME_DEFAULTS = {
  /** Largest message (after reassembly and decompression), in bytes; beyond it the socket is closed with 1009. */
  maxPayload: 1_048_576,
  /** Ping every socket this often, in ms; one that has not answered the previous ping is terminated (0 = off). */
  heartbeatInterval: 30_000,
  /** Bytes a socket may have queued before `send` returns -1 and `drain` is owed. */
  backpressureLimit: 1_048_576,
  /**
   * Hard cap on the bytes queued on one socket (a client that does not read): a `send` or publish
   * that would pass it is dropped, or the socket is closed with 1013 (`onBackpressure`).
   */
  maxBufferedBytes: 4_194_304,
  /** What passing `maxBufferedBytes` does: `close` the socket with 1013, or `drop` the message. */
  onBackpressure: 'close',
  /** On shutdown, how long sockets get to answer the 1001 close frame before they are terminated, in ms. */
  closeTimeout: 5_000,
  /** Negotiate permessage-deflate (RFC 7692) with the memory limits below. Off: it costs CPU and ~80 KB per socket. */
  perMessageDeflate: false,
  /** permessage-deflate: messages smaller than this many bytes are sent uncompressed. */
  deflateThreshold: 1024,
  /** permessage-deflate: LZ77 window of the server's compressor, 2^n bytes (8–15); the client is asked for the same. */
  deflateWindowBits: 12,
  /** permessage-deflate: zlib memLevel (1–9) of the server's compressor. */
  deflateMemLevel: 7,
} as const;

/** What a socket over `maxBufferedBytes` gets: closed with 1013 (Try Again Later), or its messages dropped. */
export type BackpressureAction = 'close' | 'drop';

const BACKPRESSURE_ACTIONS: readonly BackpressureAction[] = ['close', 'drop'];

type Defaults = typeof REALTIME_DEFAULTS;
type Widen<T> = T extends number
  ? number
  : T extends boolean
    ? boolean
    : T extends BackpressureAction
      ? BackpressureAction
      : T;

/** Options of the WebSocket server (`serve(app, { websocket })`); all optional. */
export type WebSocketOptions = { [K in keyof Defaults]?: Widen<Defaults[K]> } & {
  /**
   * Origins allowed to open a WebSocket (`https://app.example.com`), or `'*'` for any. Default:
   * same-origin only — a browser handshake whose `Origin` does not match its `Host` gets 403
   * (cross-site WebSocket hijacking); clients that send no `Origin` (not browsers) are allowed.
   */
  allowedOrigins?: readonly string[] | '*';
};

export type ResolvedWebSocketOptions = { -readonly [K in keyof Defaults]: Widen<Defaults[K]> } & {
  allowedOrigins: ReadonlySet<string> | '*' | undefined;
};

const RANGES: Partial<Record<keyof Defaults, [number, number]>> = {
  deflateWindowBits: [8, 15],
  deflateMemLevel: [1, 9],
  maxPayload: [1, 2 ** 31],
  maxBufferedBytes: [1, 2 ** 40],
};

/** Merges options over the defaults and checks each, naming the bad one. */
export function resolveWebSocketOptions(options: WebSocketOptions = {}): ResolvedWebSocketOptions {
  const out = { ...REALTIME_DEFAULTS } as ResolvedWebSocketOptions;
  for (const key of Object.keys(REALTIME_DEFAULTS) as (keyof Defaults)[]) {
    const value = options[key];
    if (value === undefined) continue;
    const expected = typeof REALTIME_DEFAULTS[key];
    const range = RANGES[key];
    if (
      typeof value !== expected ||
      (key === 'onBackpressure' && !BACKPRESSURE_ACTIONS.includes(value as BackpressureAction)) ||
      (expected === 'number' &&
        (!Number.isInteger(value) ||
          (value as number) < (range?.[0] ?? 0) ||
          (value as number) > (range?.[1] ?? Number.MAX_SAFE_INTEGER)))
    ) {
      const want =
        key === 'onBackpressure'
          ? `one of ${BACKPRESSURE_ACTIONS.map((a) => `'${a}'`).join(', ')}`
          : expected === 'number'
            ? range
              ? `an integer from ${range[0]} to ${range[1]}`
              : 'a non-negative integer'
            : `a ${expected}`;
      throw new TypeError(`websocket option ${key} must be ${want}, got ${String(value)}`);
    }
    (out as Record<string, unknown>)[key] = value;
  }
  // An app that raised only backpressureLimit keeps a cap above it rather than an error.
  if (options.maxBufferedBytes === undefined)
    out.maxBufferedBytes = Math.max(out.maxBufferedBytes, out.backpressureLimit);
  else if (out.maxBufferedBytes < out.backpressureLimit)
    throw new TypeError(
      `websocket option maxBufferedBytes (${out.maxBufferedBytes}) must be at least backpressureLimit (${out.backpressureLimit}): send() must be able to return -1 before messages are dropped`,
    );
  const origins = options.allowedOrigins;
  if (origins === undefined) out.allowedOrigins = undefined;
  else if (origins === '*') out.allowedOrigins = '*';
  else if (Array.isArray(origins) && origins.every((o) => typeof o === 'string')) {
    out.allowedOrigins = new Set(origins.map(normalizeOrigin));
  } else
    throw new TypeError(
      `websocket option allowedOrigins must be '*' or a list of origins, got ${String(origins)}`,
    );
  return out;
}

// The one normalisation, the gateway's (the handshake compares with it).
export { normalizeOrigin };
