import { createPrivateKey as createKey, randomBytes, X509Certificate } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AcmeError } from './errors.ts';

/** A certificate chain (leaf first) and its private key, in PEM. */
export interface CertificatePem {
  cert: string;
  key: string;
}

/** A stored certificate with what was read from it. */
export interface StoredCertificate extends CertificatePem {
  /** The names it was ordered for (as asked, sorted). */
  domains: string[];
  notBefore: number;
  notAfter: number;
}

/** Files hold keys: only the owner reads them (directories 0700, files 0600). */
export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/**
 * The ACME state on disk, per CA (its directory URL names a subdirectory, so that staging and
 * production never mix):
 *
 *     <root>/<ca>/account.key               the account's private key
 *     <root>/<ca>/account.json              { "url": account URL }
 *     <root>/<ca>/certificates/<name>/      cert.pem (chain), key.pem, domains.json
 *
 * Every write goes to a temporary file created 0600 and renamed over the old one, so that a
 * crash mid-write never leaves half a key, and no file is ever readable by others, even briefly.
 */
export class AcmeStorage {
  /** This CA's directory. */
  readonly dir: string;

  constructor(root: string, directoryUrl: string) {
    this.dir = join(root, caDirName(directoryUrl));
  }

  /** The account key (PEM), or undefined before the first order. */
  async accountKey(): Promise<string | undefined> {
    return this.#read(join(this.dir, 'account.key'));
  }

  async saveAccountKey(pem: string): Promise<void> {
    await this.#write(this.dir, 'account.key', pem);
  }

  /** The account URL the CA gave, or undefined. */
  async accountUrl(): Promise<string | undefined> {
    const text = await this.#read(join(this.dir, 'account.json'));
    if (text === undefined) return undefined;
    try {
      const url = (JSON.parse(text) as { url?: unknown }).url;
      return typeof url === 'string' ? url : undefined;
    } catch {
      return undefined;
    }
  }

  async saveAccountUrl(url: string): Promise<void> {
    await this.#write(this.dir, 'account.json', `${JSON.stringify({ url })}\n`);
  }

  /**
   * The stored certificate for exactly these names, or undefined (none, another set of names, a
   * chain or key that does not parse, or a key that is not the certificate's).
   */
  async certificate(domains: string[]): Promise<StoredCertificate | undefined> {
    const dir = this.#certDir(domains);
    const [cert, key, names] = await Promise.all([
      this.#read(join(dir, 'cert.pem')),
      this.#read(join(dir, 'key.pem')),
      this.#read(join(dir, 'domains.json')),
    ]);
    if (cert === undefined || key === undefined || names === undefined) return undefined;
    if (names.trim() !== JSON.stringify(sorted(domains))) return undefined;
    return inspectCertificate({ cert, key }, sorted(domains));
  }

  async saveCertificate(domains: string[], pem: CertificatePem): Promise<void> {
    const dir = this.#certDir(domains);
    // The key first, the chain last: a chain on disk always has its key beside it.
    await this.#write(dir, 'key.pem', pem.key);
    await this.#write(dir, 'domains.json', `${JSON.stringify(sorted(domains))}\n`);
    await this.#write(dir, 'cert.pem', pem.cert);
  }

  #certDir(domains: string[]): string {
    // The first name names the directory; domains.json says which set the files are for.
    return join(this.dir, 'certificates', domains[0]!);
  }

  async #read(path: string): Promise<string | undefined> {
    try {
      const info = await stat(path);
      if (!info.isFile()) throw new AcmeError('STRATA_ERR_ACME_STORAGE', `acme: ${path} is not a file`);
      // A key another user can read is not private any more, but it is still ours to tighten.
      if ((info.mode & 0o077) !== 0) await chmod(path, FILE_MODE);
      return await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async #write(dir: string, name: string, text: string): Promise<void> {
    await ensurePrivateDir(dir);
    const target = join(dir, name);
    const temp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
    const file = await open(temp, 'wx', FILE_MODE);
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }
}

/** Makes `dir` (and its parents) and sets it 0700, whatever the umask. */
async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  await chmod(dir, DIR_MODE);
}

/** A file-system-safe name for a CA: its directory URL's host, port and path. */
export function caDirName(directoryUrl: string): string {
  const url = new URL(directoryUrl);
  return `${url.host}${url.pathname}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[.-]+|-+$/g, '');
}

function sorted(domains: string[]): string[] {
  return [...domains].sort();
}

/** Reads the validity of a chain's leaf, and checks that the key is its key; undefined if not. */
export function inspectCertificate(pem: CertificatePem, domains: string[]): StoredCertificate | undefined {
  try {
    const leaf = new X509Certificate(pem.cert);
    if (!leaf.checkPrivateKey(createKey(pem.key))) return undefined;
    return {
      ...pem,
      domains,
      notBefore: Date.parse(leaf.validFrom),
      notAfter: Date.parse(leaf.validTo),
    };
  } catch {
    return undefined;
  }
}
