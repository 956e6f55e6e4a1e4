/**
 * Errors of the thread pool. They carry an HTTP `status` (and `expose`, `headers`), which the
 * framework's error answer and the server's containment both honour: a full queue reaching a
 * handler becomes `503 Service Unavailable` with `Retry-After`, not a 500.
 */
export class PoolError extends Error {
  readonly code: string;
  readonly status: number;
  readonly expose = true;
  readonly headers: Record<string, string>;

  constructor(code: string, status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'PoolError';
    this.code = code;
    this.status = status;
    this.headers = headers;
    // Speaks to the client on purpose: the framework's error answer takes its status, message
    // and headers (Retry-After), as from an HttpError (which this layer cannot import).
    Object.defineProperty(this, Symbol.for('strata.httpError'), { value: true });
  }

  static queueFull(maxQueue: number, retryAfter: number): PoolError {
    return new PoolError(
      'STRATA_ERR_POOL_QUEUE_FULL',
      503,
      `The thread pool's queue is full (${maxQueue} tasks waiting); retry shortly, or raise maxQueue or maxThreads`,
      { 'retry-after': String(retryAfter) },
    );
  }

  static closed(): PoolError {
    return new PoolError(
      'STRATA_ERR_POOL_CLOSED',
      503,
      'The thread pool is closed (the worker is shutting down); run tasks before close()',
    );
  }
}
