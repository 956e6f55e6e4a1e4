import { randomBytes } from 'node:crypto';

/**
 * Request ids: taken from a trusted `X-Request-Id` when well formed, made otherwise.
 *
 * A made id is a per-process random prefix and a counter (`k3x9q2m7d1a5-1f`): unique across
 * processes and restarts with overwhelming odds (60 random bits), sortable within a process, and
 * several times cheaper than `crypto.randomUUID()` (bench/request-id.ts measures both).
 */

// What an incoming id may be: 1–128 visible ASCII characters (RFC 5234 VCHAR) other than the
// quote and the backslash, so that it can be logged and echoed without escaping. nginx's
// `$request_id` (32 hex digits) and UUIDs pass; CR, LF, spaces, non-ASCII and 10 KB ids do not.
const WELL_FORMED = /^[!#-[\]-~]{1,128}$/;

/** Whether an incoming request id may be taken as is. */
export function isWellFormedRequestId(id: string): boolean {
  return id.length <= 128 && WELL_FORMED.test(id);
}

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

function randomPrefix(): string {
  const bytes = randomBytes(12);
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte % 32];
  return out;
}

/** Makes request ids: one random prefix per generator, then a counter in base 36. */
export class RequestIdGenerator {
  #prefix: string;
  #counter: number;

  constructor(prefix: string = randomPrefix()) {
    this.#prefix = `${prefix}-`;
    this.#counter = 0;
  }

  next(): string {
    this.#counter += 1;
    return this.#prefix + this.#counter.toString(36);
  }
}
