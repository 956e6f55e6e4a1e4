import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The names the development certificate holds. */
export const DEVELOPMENT_NAMES = ['localhost', '127.0.0.1', '::1'] as const;

/** Days the development certificate is valid (browsers cap trusted leaves near 398). */
const VALID_DAYS = 365;
/** A cached certificate this close to its end is made again. */
const RENEW_BEFORE_MS = 7 * 86_400_000;

/** The development certificate: where it is, its PEM, and whether it was made just now. */
export interface DevelopmentCertificate {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
  created: boolean;
}

/** The per-user cache directory: `$XDG_CACHE_HOME/strata`, `%LOCALAPPDATA%\strata`, else `~/.cache/strata`. */
export function cacheDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'strata');
  if (process.platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, 'strata');
  return join(homedir(), '.cache', 'strata');
}

/** Whether a cached certificate holds every development name and is valid past the margin. */
function stillGood(cert: string, now: number): boolean {
  try {
    const x509 = new X509Certificate(cert);
    const san = x509.subjectAltName ?? '';
    const names = ['DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1'];
    return (
      names.every((n) => san.includes(n)) &&
      Date.parse(x509.validFrom) <= now &&
      Date.parse(x509.validTo) - RENEW_BEFORE_MS > now
    );
  } catch {
    return false;
  }
}

/**
 * A self-signed certificate for `localhost`, `127.0.0.1` and `::1` (EC P-256, serverAuth), made
 * once and cached in `dir` (the key readable by this user only), reused while it is valid.
 *
 * Made with `@peculiar/x509` over node's WebCrypto: node can make keys but not certificates, and
 * this library is already in strata's tree (acme-client uses it), pure TypeScript, maintained.
 */
export async function developmentCertificate(
  dir: string = cacheDirectory(),
  now: number = Date.now(),
): Promise<DevelopmentCertificate> {
  const certFile = join(dir, 'localhost-cert.pem');
  const keyFile = join(dir, 'localhost-key.pem');
  try {
    const cert = readFileSync(certFile, 'utf8');
    const key = readFileSync(keyFile, 'utf8');
    if (stillGood(cert, now)) return { certFile, keyFile, cert, key, created: false };
  } catch {
    // Not made yet, or unreadable: made again below.
  }
  const { cert, key } = await makeSelfSigned(now);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyFile, key, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  writeFileSync(certFile, cert);
  return { certFile, keyFile, cert, key, created: true };
}

async function makeSelfSigned(now: number): Promise<{ cert: string; key: string }> {
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as Crypto);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    // RFC 5280 §4.1.2.2: positive, at most 20 bytes.
    serialNumber: `01${randomBytes(15).toString('hex')}`,
    name: 'CN=localhost, O=strata development certificate',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + VALID_DAYS * 86_400_000),
    keys: keys as CryptoKeyPair,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END PRIVATE KEY-----\n`;
  return { cert: certificate.toString('pem'), key };
}

/** How to make this machine trust the development certificate, one line per system. */
export function trustInstructions(certFile: string): string {
  return [
    `strata: HTTPS with a self-signed development certificate for localhost (${certFile}).`,
    'Browsers warn until this machine trusts it. To trust it:',
    `  Linux (Debian/Ubuntu): sudo cp '${certFile}' /usr/local/share/ca-certificates/strata-localhost.crt && sudo update-ca-certificates`,
    `  macOS:   sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain '${certFile}'`,
    `  Windows: certutil -user -addstore Root "${certFile}"`,
    `  curl:    curl --cacert '${certFile}' https://localhost:PORT/    node: NODE_EXTRA_CA_CERTS='${certFile}'`,
    '',
  ].join('\n');
}
