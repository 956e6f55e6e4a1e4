/**
 * The upstream group's error catalogue: stable codes, and messages that name the bad input.
 */
export class BalanceError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BalanceError';
    this.code = code;
  }

  /** An upstream group option out of range or of the wrong kind. */
  static badOption(group: string, path: string, expected: string, got: unknown): BalanceError {
    const shown = typeof got === 'string' ? JSON.stringify(got.slice(0, 80)) : String(got);
    return new BalanceError(
      'STRATA_ERR_UPSTREAM_OPTION',
      `Upstream group "${group}": ${path} must be ${expected}, got ${shown}`,
    );
  }
}
