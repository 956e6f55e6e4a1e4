import * as nodeCrypto from 'node:crypto';
import { AppError } from './errors.ts';

/** argon2id cost (RFC 9106): memory in KiB, passes, lanes. */
export interface Argon2Params {
  m: number;
  t: number;
  p: number;
}

/** scrypt cost: N = 2^ln, block size r, parallelism p. */
export interface ScryptParams {
  ln: number;
  r: number;
  p: number;
}

/** What `createPasswordHasher()` takes; every field has a default. */
export interface PasswordHasherOptions {
  /** `argon2id` where the runtime has it (`crypto.argon2`, Node 24.7+), else `scrypt`. */
  algorithm?: 'argon2id' | 'scrypt';
  /** Default `{ m: 19456, t: 2, p: 1 }` (OWASP's argon2id minimum: 19 MiB, 2 passes). */
  argon2?: Argon2Params;
  /** Default `{ ln: 17, r: 8, p: 1 }` (OWASP's scrypt: N = 2^17, 128 MiB). */
  scrypt?: ScryptParams;
  /** The key derivation itself; replaceable in tests (to count calls). Default: `node:crypto`. */
  kdf?: Kdf;
}

/** A key derivation: the bytes for `password` and `salt` under `params`, `length` long. */
export type Kdf = (
  algorithm: 'argon2id' | 'scrypt',
  password: Uint8Array,
  salt: Uint8Array,
  params: Argon2Params | ScryptParams,
  length: number,
) => Promise<Uint8Array>;

/** The functions `createPasswordHasher()` returns (the module's own use the defaults). */
export interface PasswordHasher {
  /** A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash` or `$scrypt$ln=…,r=…,p=…$salt$hash`). */
  hash(password: string): Promise<string>;
  /**
   * Whether `password` matches `hash`, in constant time. `hash` may be undefined (an unknown
   * user): a dummy hash is computed anyway, so the answer takes as long as for a known user. A
   * hash that does not parse is `false`, never an exception.
   */
  verify(password: string, hash: string | undefined | null): Promise<boolean>;
  /** Whether a stored hash was made with other parameters (or another algorithm) than the current ones. */
  needsRehash(hash: string): boolean;
  /**
   * The login helper: verifies, and when the password is right but the hash is out of date
   * returns the new hash to store (`rehash`).
   */
  verifyAndRehash(
    password: string,
    hash: string | undefined | null,
  ): Promise<{ valid: boolean; rehash?: string }>;
}

/** Whether this runtime has argon2 (`crypto.argon2`, Node 24.7+). */
export const HAS_ARGON2 = typeof (nodeCrypto as { argon2?: unknown }).argon2 === 'function';

const ARGON2_DEFAULTS: Argon2Params = Object.freeze({ m: 19456, t: 2, p: 1 });
const SCRYPT_DEFAULTS: ScryptParams = Object.freeze({ ln: 17, r: 8, p: 1 });
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Passwords longer than this (in UTF-8 bytes) are refused: hashing is bounded work. */
const MAX_PASSWORD_BYTES = 4096;
/** A stored hash longer than this is not parsed. */
const MAX_PHC_LENGTH = 512;
/** Bounds on parameters read from a stored hash: a tampered hash cannot ask for 4 GiB or a day of CPU. */
const LIMITS = { m: 1 << 20, t: 64, p: 16, ln: 20, r: 32, scryptMemory: 1 << 30 } as const;

const encoder = new TextEncoder();

/** The default key derivation: node's asynchronous argon2 and scrypt (on the libuv thread pool). */
export const nodeKdf: Kdf = (algorithm, password, salt, params, length) =>
  new Promise((resolve, reject) => {
    if (algorithm === 'argon2id') {
      const { m, t, p } = params as Argon2Params;
      // crypto.argon2 is Node 24.7+: read it as possibly absent.
      const argon2: typeof nodeCrypto.argon2 | undefined = nodeCrypto.argon2;
      if (typeof argon2 !== 'function') {
        reject(
          AppError.password('this runtime has no argon2 (crypto.argon2 needs Node 24.7+): hash with scrypt'),
        );
        return;
      }
      argon2(
        'argon2id',
        { message: password, nonce: salt, parallelism: p, tagLength: length, memory: m, passes: t },
        (err: Error | null, key: Uint8Array) => (err ? reject(err) : resolve(new Uint8Array(key))),
      );
    } else {
      const { ln, r, p } = params as ScryptParams;
      const N = 2 ** ln;
      nodeCrypto.scrypt(
        password,
        salt,
        length,
        { N, r, p, maxmem: 128 * N * r * p + 2 * 1024 * 1024 },
        (err, key) => (err ? reject(err) : resolve(new Uint8Array(key))),
      );
    }
  });

/** A parsed PHC string. */
export interface ParsedHash {
  algorithm: 'argon2id' | 'scrypt';
  params: Argon2Params | ScryptParams;
  salt: Uint8Array;
  hash: Uint8Array;
}

/**
 * Parses `$argon2id$v=19$m=…,t=…,p=…$salt$hash` or `$scrypt$ln=…,r=…,p=…$salt$hash` (PHC string
 * format, B64 without padding). Strict: exactly these fields in this order, decimal integers
 * without leading zeros, parameters within bounds, salt 8–64 bytes, hash 32–128 bytes. `null`
 * for anything else; never throws.
 */
export function parsePasswordHash(text: unknown): ParsedHash | null {
  if (typeof text !== 'string' || text.length > MAX_PHC_LENGTH) return null;
  const parts = text.split('$');
  // ['', id, (v=19), params, salt, hash]
  if (parts[0] !== '') return null;
  let algorithm: 'argon2id' | 'scrypt';
  let params: Argon2Params | ScryptParams;
  let rest: string[];
  if (parts[1] === 'argon2id') {
    if (parts.length !== 6 || parts[2] !== 'v=19') return null;
    const values = readParams(parts[3]!, ['m', 't', 'p']);
    if (values === null) return null;
    const [m, t, p] = values as [number, number, number];
    if (p < 1 || p > LIMITS.p || t < 1 || t > LIMITS.t || m < 8 * p || m > LIMITS.m) return null;
    algorithm = 'argon2id';
    params = { m, t, p };
    rest = parts.slice(4);
  } else if (parts[1] === 'scrypt') {
    if (parts.length !== 5) return null;
    const values = readParams(parts[2]!, ['ln', 'r', 'p']);
    if (values === null) return null;
    const [ln, r, p] = values as [number, number, number];
    if (ln < 1 || ln > LIMITS.ln || r < 1 || r > LIMITS.r || p < 1 || p > LIMITS.p) return null;
    if (128 * 2 ** ln * r * p > LIMITS.scryptMemory) return null;
    algorithm = 'scrypt';
    params = { ln, r, p };
    rest = parts.slice(3);
  } else return null;
  const salt = fromB64(rest[0]!);
  const hash = fromB64(rest[1]!);
  if (salt === null || hash === null) return null;
  // At least 32 bytes of hash: scrypt's output for a shorter length is a prefix of the longer one,
  // so a hash cut short would still verify, with less strength.
  if (salt.length < 8 || salt.length > 64 || hash.length < HASH_BYTES || hash.length > 128) return null;
  return { algorithm, params, salt, hash };
}

/** `k1=v1,k2=v2,…` with exactly `keys`, in order; decimal integers of at most 9 digits. */
function readParams(text: string, keys: string[]): number[] | null {
  const pairs = text.split(',');
  if (pairs.length !== keys.length) return null;
  const out: number[] = [];
  for (let i = 0; i < keys.length; i++) {
    const pair = pairs[i]!;
    const prefix = `${keys[i]}=`;
    if (!pair.startsWith(prefix)) return null;
    const digits = pair.slice(prefix.length);
    if (!/^(0|[1-9][0-9]{0,8})$/.test(digits)) return null;
    out.push(Number(digits));
  }
  return out;
}

/** PHC's B64: standard alphabet, no padding, no whitespace. */
function fromB64(text: string): Uint8Array | null {
  if (text.length === 0 || text.length % 4 === 1 || !/^[A-Za-z0-9+/]+$/.test(text)) return null;
  try {
    const binary = atob(text + '='.repeat((4 - (text.length % 4)) % 4));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    // Non-canonical trailing bits would let two strings name one hash: refuse them.
    if (toB64(bytes) !== text) return null;
    return bytes;
  } catch {
    return null;
  }
}

function toB64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/=+$/, '');
}

function format(
  algorithm: 'argon2id' | 'scrypt',
  params: Argon2Params | ScryptParams,
  salt: Uint8Array,
  hash: Uint8Array,
): string {
  if (algorithm === 'argon2id') {
    const { m, t, p } = params as Argon2Params;
    return `$argon2id$v=19$m=${m},t=${t},p=${p}$${toB64(salt)}$${toB64(hash)}`;
  }
  const { ln, r, p } = params as ScryptParams;
  return `$scrypt$ln=${ln},r=${r},p=${p}$${toB64(salt)}$${toB64(hash)}`;
}

function passwordBytes(password: unknown): Uint8Array | null {
  if (typeof password !== 'string') return null;
  const bytes = encoder.encode(password);
  return bytes.length > MAX_PASSWORD_BYTES ? null : bytes;
}

/** Constant-time equality of two equal-length byte arrays. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return nodeCrypto.timingSafeEqual(a, b);
}

/**
 * A password hasher with its own parameters (`hashPassword()` and the others use the defaults).
 *
 * @example
 * const passwords = createPasswordHasher({ argon2: { m: 65536, t: 3, p: 4 } });
 * const stored = await passwords.hash('correct horse');
 */
export function createPasswordHasher(options: PasswordHasherOptions = {}): PasswordHasher {
  const algorithm = options.algorithm ?? (HAS_ARGON2 ? 'argon2id' : 'scrypt');
  if (algorithm !== 'argon2id' && algorithm !== 'scrypt')
    throw AppError.password(`unknown algorithm ${String(algorithm)}: use argon2id or scrypt`);
  if (algorithm === 'argon2id' && !HAS_ARGON2 && options.kdf === undefined)
    throw AppError.password('this runtime has no argon2 (crypto.argon2 needs Node 24.7+): use scrypt');
  const argon2 = { ...ARGON2_DEFAULTS, ...options.argon2 };
  const scrypt = { ...SCRYPT_DEFAULTS, ...options.scrypt };
  const kdf = options.kdf ?? nodeKdf;
  const params = algorithm === 'argon2id' ? argon2 : scrypt;
  // The parameters must be ones a stored hash may carry, or the hasher could not verify its own hashes.
  const probe = format(algorithm, params, new Uint8Array(SALT_BYTES), new Uint8Array(HASH_BYTES));
  if (parsePasswordHash(probe) === null)
    throw AppError.password(`parameters out of bounds for ${algorithm}: ${JSON.stringify(params)}`);

  const hash = async (password: string): Promise<string> => {
    const bytes = passwordBytes(password);
    if (bytes === null)
      throw AppError.password(`hashPassword() takes a string of at most ${MAX_PASSWORD_BYTES} bytes`);
    const salt = nodeCrypto.randomBytes(SALT_BYTES);
    return format(algorithm, params, salt, await kdf(algorithm, bytes, salt, params, HASH_BYTES));
  };

  let dummySalt: Uint8Array | undefined;
  const verify = async (password: string, stored: string | undefined | null): Promise<boolean> => {
    const parsed = parsePasswordHash(stored);
    const bytes = passwordBytes(password);
    if (parsed === null || bytes === null) {
      // An unknown user (or an unreadable hash): the same derivation a known user costs, so the
      // time of the answer does not tell which users exist.
      dummySalt ??= nodeCrypto.randomBytes(SALT_BYTES);
      const computed = await kdf(algorithm, bytes ?? encoder.encode(''), dummySalt, params, HASH_BYTES);
      equalBytes(computed, computed);
      return false;
    }
    if (parsed.algorithm === 'argon2id' && !HAS_ARGON2 && options.kdf === undefined)
      throw AppError.password(
        'this hash is argon2id and this runtime has no argon2 (crypto.argon2 needs Node 24.7+)',
      );
    const computed = await kdf(parsed.algorithm, bytes, parsed.salt, parsed.params, parsed.hash.length);
    return equalBytes(computed, parsed.hash);
  };

  const needsRehash = (stored: string): boolean => {
    const parsed = parsePasswordHash(stored);
    if (parsed === null || parsed.algorithm !== algorithm) return true;
    if (parsed.salt.length < SALT_BYTES || parsed.hash.length < HASH_BYTES) return true;
    const old = new Map(Object.entries(parsed.params));
    return Object.entries(params).some(([key, value]) => old.get(key) !== value);
  };

  const verifyAndRehash = async (
    password: string,
    stored: string | undefined | null,
  ): Promise<{ valid: boolean; rehash?: string }> => {
    const valid = await verify(password, stored);
    if (!valid || stored === undefined || stored === null || !needsRehash(stored)) return { valid };
    return { valid, rehash: await hash(password) };
  };

  return { hash, verify, needsRehash, verifyAndRehash };
}

let defaults: PasswordHasher | undefined;
const hasher = (): PasswordHasher => {
  defaults ??= createPasswordHasher();
  return defaults;
};

/**
 * Hashes a password: argon2id (19 MiB, 2 passes) where the runtime has it, scrypt (N = 2^17)
 * otherwise, with a random 16-byte salt, as a PHC string that carries its parameters. Off the
 * event loop (the libuv thread pool).
 *
 * @example
 * const stored = await hashPassword(body.password);
 */
export function hashPassword(password: string): Promise<string> {
  return hasher().hash(password);
}

/**
 * Checks a password against a stored PHC hash, in constant time. Pass `undefined` for an unknown
 * user: a dummy hash is computed so the timing does not reveal which user names exist. Never
 * throws for a malformed hash (it is `false`).
 *
 * @example
 * const user = await db.findUser(name);
 * if (!(await verifyPassword(password, user?.passwordHash))) throw new HttpError(401, 'Wrong name or password');
 */
export function verifyPassword(password: string, hash: string | undefined | null): Promise<boolean> {
  return hasher().verify(password, hash);
}

/** Whether a stored hash was made with other parameters than `hashPassword()`'s: rehash it at the next login. */
export function needsRehash(hash: string): boolean {
  return hasher().needsRehash(hash);
}

/**
 * `verifyPassword()`, plus the new hash to store when the password is right and its hash is out
 * of date (`needsRehash()`): the rehash-on-login step.
 *
 * @example
 * const { valid, rehash } = await verifyAndRehash(password, user?.passwordHash);
 * if (rehash) await db.setPasswordHash(user.id, rehash);
 */
export function verifyAndRehash(
  password: string,
  hash: string | undefined | null,
): Promise<{ valid: boolean; rehash?: string }> {
  return hasher().verifyAndRehash(password, hash);
}
