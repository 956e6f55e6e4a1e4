import type { ServerOptions as Http2ServerOptions } from 'node:http2';

/**
 * The `http2` option of `serve()`: HTTP/2 on the server's connections (over TLS after ALPN
 * `h2`; in clear text with prior knowledge when `h2c` is on), and the limits that keep one
 * connection from costing the process more than its share (docs/http2.md).
 */
export interface Http2Options {
  /**
   * Serve HTTP/2 in clear text to clients that start with the HTTP/2 preface (RFC 9113 §3.3,
   * "prior knowledge") on the plain HTTP listener; HTTP/1.1 clients are served as before.
   * Default `false` (over TLS, ALPN chooses; h2c is for a trusted hop, such as a load balancer).
   */
  h2c?: boolean;
  /** SETTINGS_MAX_CONCURRENT_STREAMS: streams a client may have open at once. */
  maxConcurrentStreams?: number;
  /**
   * SETTINGS_MAX_HEADER_LIST_SIZE, in bytes (names + values + 32 per field, RFC 9113 §6.5.2);
   * default the server's `maxHeaderSize`. A larger header block resets its stream.
   */
  maxHeaderListSize?: number;
  /** Most RST_STREAM frames a client may send in a burst, then `resetRate` per second (CVE-2023-44487). */
  resetBurst?: number;
  /** RST_STREAM frames per second allowed once the burst is spent; past it, GOAWAY. */
  resetRate?: number;
  /** Most entries in one SETTINGS frame; a frame with more is a connection error (GOAWAY). */
  maxSettings?: number;
  /**
   * Memory one session may hold, in MiB: HPACK tables, response data queued for a client that
   * does not read, unacknowledged PING/SETTINGS. Past it, new streams are refused (ENHANCE_YOUR_CALM).
   */
  maxSessionMemory?: number;
  /** Streams refused on one session (over the limits above) before it is closed with GOAWAY. */
  maxSessionRejectedStreams?: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE of each stream, in bytes: how much of a body the client may send unread. */
  initialWindowSize?: number;
}

/** The defaults of `http2`, in one place; docs/http2.md shows the same (with nginx's equivalents). */
export const HTTP2_DEFAULTS = {
  h2c: false,
  maxConcurrentStreams: 128,
  resetBurst: 1000,
  resetRate: 33,
  maxSettings: 32,
  maxSessionMemory: 10,
  maxSessionRejectedStreams: 100,
  initialWindowSize: 65_535,
} as const;

/** `http2` resolved: every limit set; `maxHeaderListSize` from the server's `maxHeaderSize` unless given. */
export type ResolvedHttp2Options = Required<Http2Options>;

const LIMITS: (keyof Http2Options)[] = [
  'maxConcurrentStreams',
  'maxHeaderListSize',
  'resetBurst',
  'resetRate',
  'maxSettings',
  'maxSessionMemory',
  'maxSessionRejectedStreams',
  'initialWindowSize',
];

/** Checks the option (naming the bad part); undefined when HTTP/2 is off. */
export function resolveHttp2Options(
  option: boolean | Http2Options | undefined,
  maxHeaderSize: number,
): ResolvedHttp2Options | undefined {
  if (option === undefined || option === false) return undefined;
  const o: Http2Options = option === true ? {} : option;
  if (typeof o !== 'object' || o === null)
    throw new TypeError(`serve(): option http2 must be true, false or an object, got ${String(option)}`);
  for (const key of LIMITS) {
    const value = o[key];
    if (value !== undefined && !(typeof value === 'number' && Number.isInteger(value) && value > 0))
      throw new TypeError(`serve(): option http2.${key} must be a positive integer, got ${String(value)}`);
  }
  if (o.h2c !== undefined && typeof o.h2c !== 'boolean')
    throw new TypeError(`serve(): option http2.h2c must be a boolean, got ${String(o.h2c)}`);
  // RFC 9113 §6.5.2: the initial window is at most 2^31-1.
  if (o.initialWindowSize !== undefined && o.initialWindowSize > 2 ** 31 - 1)
    throw new TypeError('serve(): option http2.initialWindowSize must be at most 2147483647');
  return { ...HTTP2_DEFAULTS, maxHeaderListSize: maxHeaderSize, ...o };
}

/** node's http2 server options for these limits (the settings the server sends, and its own bounds). */
export function nodeHttp2Options(o: ResolvedHttp2Options, maxHeaderCount: number): Http2ServerOptions {
  return {
    settings: {
      maxConcurrentStreams: o.maxConcurrentStreams,
      maxHeaderListSize: o.maxHeaderListSize,
      initialWindowSize: o.initialWindowSize,
      // No server push (RFC 9113 §8.4): nothing in strata pushes.
      enablePush: false,
    },
    maxSettings: o.maxSettings,
    maxSessionMemory: o.maxSessionMemory,
    maxSessionRejectedStreams: o.maxSessionRejectedStreams,
    streamResetBurst: o.resetBurst,
    streamResetRate: o.resetRate,
    // Header fields beyond maxHeaderCount are the edge policy's 431: node's own cap (pairs,
    // pseudo-headers included) lets one more through, so that the policy sees them.
    maxHeaderListPairs: maxHeaderCount > 0 ? maxHeaderCount + 6 : 128,
  };
}
