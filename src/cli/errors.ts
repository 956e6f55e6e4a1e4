/** The command line's error catalogue: what went wrong, with the way out, and a stable code. */
export class CliError extends Error {
  readonly code: string;
  /** Process exit code: 2 for a usage mistake, 1 for everything else. */
  readonly exitCode: number;

  constructor(code: string, message: string, exitCode = 1, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

export function usageError(message: string): CliError {
  return new CliError('STRATA_ERR_CLI_USAGE', `${message}\nRun \`strata --help\` for usage.`, 2);
}

/** The supervisor gave up: its workers exited before they were ready, again and again. */
export function workerStartupError(
  failures: number,
  last: { code: number | null; signal: string | null },
): CliError {
  const how = last.signal !== null ? `signal ${last.signal}` : `exit code ${last.code}`;
  return new CliError(
    'STRATA_ERR_WORKER_STARTUP',
    `${failures} workers in a row exited before they were ready (the last with ${how}); strata stopped instead of restarting them forever. Fix the error the workers printed above, then start again`,
  );
}
