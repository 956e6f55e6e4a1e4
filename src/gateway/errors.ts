/**
 * The gateway's error catalogue. Every error has a stable `code`, the HTTP `status` a server
 * should answer with when it escapes the app, and a message that says how to fix it.
 */
import { isErrorStatus } from './http.ts';

export class GatewayError extends Error {
  readonly code: string;
  readonly status: number;
  /** Whether the message is safe to show to the client (it names no server internals). */
  readonly expose: boolean;

  constructor(code: string, status: number, message: string, expose: boolean, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GatewayError';
    this.code = code;
    this.status = status;
    this.expose = expose;
  }
}

/** The request body is larger than the server's `maxBodySize`. */
export function bodyTooLarge(limit: number): GatewayError {
  return new GatewayError(
    'STRATA_ERR_BODY_TOO_LARGE',
    413,
    `Request body is larger than the limit of ${limit} bytes (raise the server's maxBodySize to accept it)`,
    true,
  );
}

/** The client went away before the request body was complete. */
export function bodyAborted(): GatewayError {
  return new GatewayError(
    'STRATA_ERR_BODY_ABORTED',
    400,
    'The client closed the connection before the request body was complete',
    true,
  );
}

/** The app's fetch returned something that is not a Response. */
export function badResponse(value: unknown): GatewayError {
  const kind =
    typeof value === 'object' && value !== null ? (constructorName(value) ?? 'object') : typeof value;
  return new GatewayError(
    'STRATA_ERR_BAD_RESPONSE',
    500,
    `The app's fetch() returned ${kind} instead of a Response; return a Response (for example Response.json(data))`,
    false,
  );
}

/** The error a client disconnect raises in `request.signal` and in streaming bodies. */
export function clientGone(): DOMException {
  return new DOMException('The client closed the connection', 'AbortError');
}

// ---- reading what an app threw or returned ------------------------------------------------
//
// Containment: whatever an app throws or returns is read here, never directly. A thrown value can
// be anything: null, a Symbol, a frozen object, an object whose getters throw, a Proxy whose every
// trap throws (a trap runs even for `instanceof`), an error whose `cause` is itself. Each read
// below is guarded, so the error path answers 500 instead of throwing out of the server.

/** What the server needs to know about a thrown value, read once and safely. */
export interface ThrownFacts {
  /** A numeric `status` from 400 to 599, else 500. */
  readonly status: number;
  /** The message may be shown to the client: an `Error` with `expose: true` and a 4xx status. */
  readonly expose: boolean;
  readonly message: string | undefined;
  readonly stack: string | undefined;
  readonly name: string | undefined;
  readonly code: string | undefined;
}

/** `value[key]`, or undefined if reading it throws. */
export function readSafely(value: object, key: PropertyKey): unknown {
  try {
    return (value as Record<PropertyKey, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** `value instanceof type`, false if a Proxy trap (or a prototype getter) throws. */
export function isInstance(value: unknown, type: abstract new (...args: never[]) => unknown): boolean {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

function stringField(value: object, key: string): string | undefined {
  const v = readSafely(value, key);
  return typeof v === 'string' ? v : undefined;
}

function constructorName(value: object): string | undefined {
  try {
    const ctor = (value as { constructor?: unknown }).constructor;
    const name = typeof ctor === 'function' ? ctor.name : undefined;
    return typeof name === 'string' && name !== '' ? name : undefined;
  } catch {
    return undefined;
  }
}

/** An HTTP error status (an integer from 400 to 599) from `status`, else 500. */
export function statusOfThrown(value: unknown): number {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return 500;
  const status = readSafely(value, 'status');
  return isErrorStatus(status) ? status : 500;
}

/** Reads a thrown value's status, exposure, message, stack, name and code without ever throwing. */
export function thrownFacts(value: unknown): ThrownFacts {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) {
    return {
      status: 500,
      expose: false,
      message: describePrimitive(value),
      stack: undefined,
      name: undefined,
      code: undefined,
    };
  }
  const status = statusOfThrown(value);
  const code = readSafely(value, 'code');
  return {
    status,
    // A 5xx never shows its message outside dev: it is the server's failure, not the client's.
    expose: status < 500 && readSafely(value, 'expose') === true && isInstance(value, Error),
    message: stringField(value, 'message'),
    stack: stringField(value, 'stack'),
    name: stringField(value, 'name'),
    code: typeof code === 'string' ? code : typeof code === 'number' ? String(code) : undefined,
  };
}

function describePrimitive(value: unknown): string {
  // String() takes every primitive, Symbols and BigInts included; objects never reach here.
  return typeof value === 'string' ? value : String(value);
}
