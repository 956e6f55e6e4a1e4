/**
 * The server's error catalogue: stable codes, and messages that say how to fix the problem.
 */
export class ServerError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ServerError';
    this.code = code;
  }

  /** Turns a `listen()` failure into an error that names the address and the way out. */
  static fromListen(err: NodeJS.ErrnoException, host: string, port: number): ServerError {
    if (err.code === 'EADDRINUSE') {
      return new ServerError(
        'STRATA_ERR_PORT_IN_USE',
        `Port ${port} on ${host} is already in use: stop the other process or choose another port (--port or PORT)`,
        { cause: err },
      );
    }
    if (err.code === 'EACCES') {
      return new ServerError(
        'STRATA_ERR_PORT_FORBIDDEN',
        `Not allowed to listen on port ${port} on ${host}: ports below 1024 need privileges; use a port above 1023`,
        { cause: err },
      );
    }
    if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') {
      return new ServerError(
        'STRATA_ERR_HOST_UNAVAILABLE',
        `Cannot listen on ${host}: no such local address (use 127.0.0.1, ::1, 0.0.0.0 or an address of this machine)`,
        { cause: err },
      );
    }
    return new ServerError('STRATA_ERR_LISTEN', `Cannot listen on ${host}:${port}: ${err.message}`, {
      cause: err,
    });
  }
}
