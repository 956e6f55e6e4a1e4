/**
 * The ACME errors: stable codes, and messages that say what to do.
 *
 * - `STRATA_ERR_ACME_CONFIG`: a setting is wrong (a domain, the directory URL, the terms).
 * - `STRATA_ERR_ACME_STORAGE`: the storage directory cannot be used (owner, modes, a bad file).
 * - `STRATA_ERR_ACME_ORDER`: the CA refused or failed an order (retried with backoff).
 */
export class AcmeError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AcmeError';
    this.code = code;
  }
}
