/** HTTPS for the edge server: certificates (SNI, reload, runtime install), ticket keys, HSTS, the redirect listener. */
export { type CertificateInfo, type CertificatePem, CertificateStore } from './certificate-store.ts';
export {
  type CertificateOptions,
  type HstsOptions,
  INTERMEDIATE_CIPHERS,
  TLS_DEFAULTS,
  type TlsOptions,
} from './options.ts';
export { redirectTarget, startRedirect } from './redirect.ts';
export {
  cacheDirectory,
  DEVELOPMENT_NAMES,
  developmentCertificate,
  trustInstructions,
} from './self-signed.ts';
export { TICKET_SECRET_ENV, TicketKeys } from './ticket-keys.ts';
export { TlsSetup } from './tls-setup.ts';
