/**
 * Where an issued certificate goes: the HTTPS listener's certificate store, which serves it from
 * the next handshake on for these names (SNI), without failing a handshake during the swap.
 * `pem.cert` is the chain, leaf first; `pem.key` the leaf's private key (PKCS#8 PEM).
 *
 * @example
 * const sink: CertificateSink = { install: (names, pem) => store.install(names, pem) };
 */
export interface CertificateSink {
  install(names: string[], pem: { cert: string; key: string }): void | Promise<void>;
}

/**
 * Where pending HTTP-01 challenges go before the CA is told to validate: this process's
 * `ChallengeTokens`, and under `--workers` every worker (the workers hold the port). `add`
 * resolves once every listener can answer the token.
 */
export interface ChallengePublisher {
  add(token: string, keyAuthorization: string): Promise<void>;
  remove(token: string): Promise<void>;
}
