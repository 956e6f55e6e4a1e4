import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Transform } from 'node:stream';

/**
 * A hook through which a server transforms response bodies on their way out (strata's server
 * fills it with compression). The gateway defines it so that it never imports the server; with
 * no encoder configured, writing a response costs one `undefined` check.
 *
 * The gateway calls `encodeKnown` / `encodeStream` only for responses that carry a body (not
 * HEAD, 204, 304 or 1xx), and `encodeHead` for HEAD, with `headers` as a node headers object
 * (lowercase names) that the encoder may edit in place.
 */
export interface BodyEncoder {
  /**
   * A body whose bytes are known. Returns the body to send: `body` itself, or an encoded one
   * (after setting `content-encoding` and the like in `headers`). The gateway sets
   * `content-length` from what is returned. A body of more than `syncLimit` bytes may be encoded
   * off the event loop: then a promise of the encoded bytes is returned (the headers edited
   * already), which rejects if the client leaves first.
   */
  encodeKnown(
    req: IncomingMessage,
    status: number,
    headers: OutgoingHttpHeaders,
    body: string | Uint8Array,
  ): string | Uint8Array | Promise<Uint8Array>;
  /**
   * Known bodies of at most this many bytes are always encoded synchronously (never a promise).
   * A writer that cannot wait (the server's HTTP/1.1 fast lane) leaves longer ones to the
   * gateway's `writeResponse`. Absent: never a promise.
   */
  readonly syncLimit?: number;
  /**
   * The headers of a HEAD response, edited as those of the same GET would be (RFC 9110 §9.3.2).
   * `length`: the GET's body length (-1 if unknown); `streamed`: its body would be a stream or a
   * file. The encoder deletes `content-length` when the GET's would differ (a coding named).
   */
  encodeHead?(
    req: IncomingMessage,
    status: number,
    headers: OutgoingHttpHeaders,
    length: number,
    streamed: boolean,
  ): void;
  /**
   * A body that is streamed: `length` is its size when known (a file), else -1. Returns a
   * transform for the gateway to write the body into and pipe to the client (after editing
   * `headers`, `content-length` removed), or `undefined` to send the body as it is. `live` says
   * the chunks come from the app as it produces them (each must leave at once: SSE), rather than
   * from a file.
   */
  encodeStream(
    req: IncomingMessage,
    status: number,
    headers: OutgoingHttpHeaders,
    length: number,
    live: boolean,
  ): Transform | undefined;
}
