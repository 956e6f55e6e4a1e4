/**
 * The gateway's error catalogue. Every error has a stable `code`, the HTTP `status` a server
 * should answer with when it escapes the app, and a message that says how to fix it.
 */

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
  const kind = value === null ? 'null' : typeof value === 'object' ? value.constructor?.name : typeof value;
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
