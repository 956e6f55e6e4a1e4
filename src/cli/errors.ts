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
