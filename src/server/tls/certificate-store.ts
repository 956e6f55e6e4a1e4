import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { CertificateOptions } from './options.ts';

/** A certificate's PEM, read (files) and ready for a context. */
export interface CertificatePem {
  cert: string | Buffer;
  key: string | Buffer;
  passphrase?: string | undefined;
}

/** One certificate in the store: its names, its context, and what the server's default needs. */
interface Entry {
  readonly names: readonly string[];
  readonly context: SecureContext;
  readonly pem: CertificatePem;
  readonly validTo: Date;
}

/** What `CertificateStore.list()` says of each certificate. */
export interface CertificateInfo {
  names: readonly string[];
  validTo: Date;
  default: boolean;
}

/** PEM text or bytes as they are; any other string is a path, read now. */
function pemOf(value: string | Uint8Array, what: string): string | Buffer {
  if (typeof value !== 'string') return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value);
  } catch (err) {
    throw new TypeError(`serve(): cannot read the TLS ${what} ${resolve(value)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** The DNS names of a certificate's subjectAltName (IP addresses cannot be asked for by SNI). */
export function certificateNames(cert: X509Certificate): string[] {
  const san = cert.subjectAltName ?? '';
  return san
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
}

/** A name as SNI compares it: lowercase, without a trailing dot (RFC 6066 §3: no dot is sent). */
function normalName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * The server's certificates, chosen by the name a client asks for (SNI): an exact name first,
 * then a wildcard one label deep (`*.example.com` answers `a.example.com`, not `example.com`
 * nor `a.b.example.com`, as RFC 6125 §6.4.3 has it), then the default certificate.
 *
 * Every change — a reload, `install()` — builds the new contexts first and swaps them in one
 * assignment: a handshake under way keeps the context it started with, the next one gets the new
 * one, and none fails for the swap. A certificate that does not load (a key that does not match,
 * a file half written) leaves the old ones in place.
 *
 * @example
 * // How the ACME client hands in a certificate it obtained (at runtime, no restart):
 * server.certificates?.install(['example.com', 'www.example.com'], { cert: chainPem, key: keyPem });
 */
export class CertificateStore {
  readonly #base: SecureContextOptions;
  #sources: readonly CertificateOptions[] = [];
  #defaultName: string | undefined;
  #configured: Entry[] = [];
  readonly #installed = new Map<string, Entry>();
  #exact = new Map<string, Entry>();
  #wildcard = new Map<string, Entry>();
  #default: Entry | undefined;
  /** Called when the default certificate changed (the server's own context follows it). */
  onDefaultChange: ((pem: CertificatePem) => void) | undefined = undefined;

  /** `base`: the protocol options every context gets (versions, ciphers, groups). */
  constructor(base: SecureContextOptions) {
    this.#base = base;
  }

  /**
   * Loads `sources` (reading their files) as the configured certificates; `defaultName` picks
   * the default among them (else the first). Throws, naming the file, if one does not load.
   */
  load(sources: readonly CertificateOptions[], defaultName?: string): void {
    const configured = sources.map((source) => this.#entryOf(source));
    if (defaultName !== undefined && !configured.some((e) => e.names.includes(normalName(defaultName))))
      throw new TypeError(`serve(): tls.default names ${defaultName}, which no certificate has`);
    this.#sources = sources;
    this.#defaultName = defaultName === undefined ? undefined : normalName(defaultName);
    this.#configured = configured;
    this.#index();
  }

  /** Reads the configured certificates' files again and swaps them in (throws, keeping the old, on failure). */
  reload(): void {
    this.load(this.#sources, this.#defaultName);
  }

  /**
   * Adds (or replaces) the certificate for `names` at runtime: the ACME client's way in. The
   * names are exact or wildcard host names; an installed certificate takes those names from
   * the configured ones, and is the default when there is no configured certificate.
   */
  install(names: readonly string[], pem: Omit<CertificateOptions, 'names'>): void {
    if (names.length === 0) throw new TypeError('CertificateStore.install() needs at least one name');
    const entry = this.#entryOf({ ...pem, names: [...names] });
    for (const name of entry.names) this.#installed.set(name, entry);
    this.#index();
  }

  /** The files the configured certificates are read from (to watch). */
  files(): string[] {
    const files: string[] = [];
    for (const s of this.#sources) {
      for (const value of [s.cert, s.key]) {
        if (typeof value === 'string' && !value.includes('-----BEGIN')) files.push(resolve(value));
      }
    }
    return files;
  }

  /** The context for a name a client asked for; undefined: the default's. */
  contextFor(servername: string): SecureContext | undefined {
    const name = normalName(servername);
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact.context;
    const dot = name.indexOf('.');
    if (dot > 0) {
      const wild = this.#wildcard.get(name.slice(dot + 1));
      if (wild !== undefined) return wild.context;
    }
    return this.#default?.context;
  }

  /** node's `SNICallback`: the context for the name (the default's when none has it). */
  readonly sniCallback = (servername: string, callback: (err: Error | null, ctx?: SecureContext) => void) => {
    callback(null, this.contextFor(servername));
  };

  /** The default certificate's PEM (the server's own context), if any. */
  get defaultPem(): CertificatePem | undefined {
    return this.#default?.pem;
  }

  /** Every certificate, with its names and expiry. */
  list(): CertificateInfo[] {
    const all = new Set<Entry>([...this.#configured, ...this.#installed.values()]);
    return [...all].map((e) => ({ names: e.names, validTo: e.validTo, default: e === this.#default }));
  }

  #entryOf(source: CertificateOptions): Entry {
    const pem: CertificatePem = {
      cert: pemOf(source.cert, 'certificate'),
      key: pemOf(source.key, 'key'),
      ...(source.passphrase === undefined ? {} : { passphrase: source.passphrase }),
    };
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(pem.cert);
    } catch (err) {
      throw new TypeError(`serve(): the TLS certificate is not PEM X.509: ${(err as Error).message}`, {
        cause: err,
      });
    }
    // createSecureContext checks that the key is the certificate's ("key values mismatch").
    const context = createSecureContext({ ...this.#base, ...pem });
    const names = source.names === undefined ? certificateNames(x509) : source.names.map(normalName);
    return { names, context, pem, validTo: new Date(x509.validTo) };
  }

  /** Builds the lookup maps aside, then swaps them in. */
  #index(): void {
    const exact = new Map<string, Entry>();
    const wildcard = new Map<string, Entry>();
    const add = (name: string, entry: Entry): void => {
      if (name.startsWith('*.')) wildcard.set(name.slice(2), entry);
      else exact.set(name, entry);
    };
    // Configured in order, the first holder of a name keeping it; installed ones over them.
    for (const entry of [...this.#configured].reverse()) for (const name of entry.names) add(name, entry);
    for (const [name, entry] of this.#installed) add(name, entry);
    const configuredDefault =
      this.#defaultName === undefined
        ? this.#configured[0]
        : this.#configured.find((e) => e.names.includes(this.#defaultName!));
    const fallback =
      configuredDefault === undefined
        ? this.#installed.values().next().value
        : (this.#installed.get(configuredDefault.names[0] ?? '') ?? configuredDefault);
    const before = this.#default;
    this.#exact = exact;
    this.#wildcard = wildcard;
    this.#default = fallback;
    if (fallback !== undefined && fallback !== before) this.onDefaultChange?.(fallback.pem);
  }
}
