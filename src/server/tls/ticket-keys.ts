import { hkdfSync, randomBytes } from 'node:crypto';
import type { Server } from 'node:tls';

/**
 * The environment variable through which `strata serve --workers`' primary gives its workers the
 * ticket secret (base64): set before they start, removed from `process.env` as a worker reads it.
 */
export const TICKET_SECRET_ENV = 'STRATA_TLS_TICKET_SECRET';

/**
 * Session-ticket keys (RFC 5077 / RFC 8446 §4.6.1) derived from one secret and the current
 * period: `HKDF-SHA256(secret, period)` gives the 48 bytes node's `setTicketKeys()` takes (name,
 * HMAC and AES keys). Every process with the same secret holds the same key at the same time,
 * with no message between them, so a client resumes its session on whichever worker the kernel
 * hands its next connection to; a worker started later derives the same key. The key changes
 * every `rotation` ms (a ticket from before the change costs one full handshake, never a failure).
 */
export class TicketKeys {
  readonly #secret: Uint8Array;
  readonly #rotation: number;
  #timer: NodeJS.Timeout | undefined;

  /** `secret` (at least 32 bytes, or base64 of them); absent: a random one, this process only. */
  constructor(secret: string | Uint8Array | undefined, rotation: number) {
    const bytes = typeof secret === 'string' ? Buffer.from(secret, 'base64') : (secret ?? randomBytes(32));
    if (bytes.length < 32) throw new TypeError('serve(): tls.ticketSecret must hold at least 32 bytes');
    if (!Number.isInteger(rotation) || rotation < 1000)
      throw new TypeError(`serve(): tls.ticketRotation must be at least 1000 ms, got ${String(rotation)}`);
    this.#secret = bytes;
    this.#rotation = rotation;
  }

  /** The 48-byte key of the period holding `now` (ms). */
  keyAt(now: number): Buffer {
    const period = Math.floor(now / this.#rotation);
    return Buffer.from(hkdfSync('sha256', this.#secret, 'strata tls ticket keys', `period ${period}`, 48));
  }

  /** Sets the current key on `server` and changes it at each period's start, until `stop()`. */
  start(server: Server, now: () => number = Date.now): void {
    const tick = (): void => {
      const at = now();
      server.setTicketKeys(this.keyAt(at));
      this.#timer = setTimeout(tick, this.#rotation - (at % this.#rotation) + 1);
      this.#timer.unref();
    };
    tick();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
