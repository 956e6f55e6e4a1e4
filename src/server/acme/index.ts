/** Automatic certificates (ACME, RFC 8555): the parts the server and the CLI wire; see docs/acme.md. */
export {
  ACME_CHALLENGE_PREFIX,
  answerHttp01,
  ChallengeTokens,
  type Http01Answers,
  isChallengeTarget,
} from './challenges.ts';
export { type ClientHelloInfo, readClientHello } from './client-hello.ts';
export { AcmeError } from './errors.ts';
export { type AcmeCheck, AcmeManager, type AcmeManagerParts } from './manager.ts';
export {
  ACME_DEFAULTS,
  type AcmeConfig,
  type AcmeOptions,
  defaultAcmeStorage,
  domainProblem,
  LETS_ENCRYPT,
  type ResolvedAcmeOptions,
  resolveAcmeOptions,
} from './options.ts';
export { RetryBackoff, renewalTime } from './renewal.ts';
export type { CertificateSink, ChallengePublisher } from './sink.ts';
export { AcmeStorage, type CertificatePem, type StoredCertificate } from './storage.ts';
export { ACME_TLS_ALPN, type AlpnAnswers, AlpnChallenges, tlsAlpnFront } from './tls-alpn.ts';
export { ACME_IPC, AcmeWorker, shareWithWorkers } from './workers.ts';
