import { randomBytes } from 'node:crypto';

/**
 * Request ids: taken from a trusted `X-Request-Id` when well formed, made otherwise.
 *
 * A made id is a per-process random prefix and a counter (`k3x9q2m7d1a5-1f`): unique across
 * processes and restarts with overwhelming odds (60 random bits), sortable within a process, and
 * several times cheaper than `crypto.randomUUID()` (bench/request-id.ts measures both).
 */

// The rule for an incoming id is the one of src/gateway/http.ts (the app's requestId() uses it too).
export { isWellFormedRequestId } from '../gateway/http.ts';

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
