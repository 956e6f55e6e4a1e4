/**
 * The session's cryptography, on WebCrypto (`crypto.subtle`, the same in Node, Bun, Deno and
 * workers): per-purpose keys derived with HKDF-SHA256 from each secret, AES-256-GCM for cookie
 * sessions (authenticated encryption: the tag is the signature), HMAC-SHA256 for session ids.
 * Every secret decrypts and verifies (key rotation); only the first seals and signs.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
// Domain separation: a key for one purpose (one app's sessions, its CSRF tokens) is never the
// key for another, even from the same secret (RFC 5869 §3.2, `info`).
const SALT = encoder.encode('strata-stack session keys v1');
const VERSION = 1;
const IV_BYTES = 12; // NIST SP 800-38D §8.2.2: a random 96-bit IV per message
const TAG_BYTES = 16;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64URL_INDEX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The keys of one secret for one purpose. */
export interface PurposeKeys {
  readonly aes: CryptoKey;
  readonly hmac: CryptoKey;
}

/** Derives the keys of every secret for `purpose`, newest first. */
export async function deriveKeys(secrets: readonly string[], purpose: string): Promise<PurposeKeys[]> {
  const subtle = globalThis.crypto.subtle;
  return Promise.all(
    secrets.map(async (secret) => {
      const base = await subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, ['deriveKey']);
      const hkdf = (use: string) => ({
        name: 'HKDF',
        hash: 'SHA-256',
        salt: SALT,
        info: encoder.encode(`${purpose}\u0000${use}`),
      });
      const aes = await subtle.deriveKey(hkdf('aes-256-gcm'), base, { name: 'AES-GCM', length: 256 }, false, [
        'encrypt',
        'decrypt',
      ]);
      const hmac = await subtle.deriveKey(
        hkdf('hmac-sha256'),
        base,
        { name: 'HMAC', hash: 'SHA-256', length: 256 },
        false,
        ['sign', 'verify'],
      );
      return { aes, hmac };
    }),
  );
}

/** Encrypts `plaintext` with the first key; `context` (the cookie name) is bound as AAD. */
export async function seal(
  plaintext: string,
  keys: readonly PurposeKeys[],
  context: string,
): Promise<string> {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await globalThis.crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: encoder.encode(context), tagLength: TAG_BYTES * 8 },
    keys[0]!.aes,
    encoder.encode(plaintext),
  );
  const out = new Uint8Array(1 + IV_BYTES + sealed.byteLength);
  out[0] = VERSION;
  out.set(iv, 1);
  out.set(new Uint8Array(sealed), 1 + IV_BYTES);
  return toBase64url(out);
}

/**
 * The plaintext if one of the keys sealed `value` for `context`, else undefined: never throws,
 * whatever the value (a tampered, truncated or foreign cookie is no session).
 */
export async function unseal(
  value: string,
  keys: readonly PurposeKeys[],
  context: string,
  maxLength: number,
): Promise<string | undefined> {
  if (value.length > maxLength || value.length < 4 || !BASE64URL.test(value)) return undefined;
  const bytes = fromBase64url(value);
  if (bytes === undefined || bytes.length < 1 + IV_BYTES + TAG_BYTES || bytes[0] !== VERSION)
    return undefined;
  const iv = bytes.subarray(1, 1 + IV_BYTES);
  const data = bytes.subarray(1 + IV_BYTES);
  const aad = encoder.encode(context);
  for (const key of keys) {
    try {
      const plain = await globalThis.crypto.subtle.decrypt(
        { name: 'AES-GCM', iv, additionalData: aad, tagLength: TAG_BYTES * 8 },
        key.aes,
        data,
      );
      return decoder.decode(plain);
    } catch {
      // Not this key (or not authentic): try the next one.
    }
  }
  return undefined;
}

/** `id.signature` with the first key's HMAC over the context and the id. */
export async function signId(id: string, keys: readonly PurposeKeys[], context: string): Promise<string> {
  const mac = await globalThis.crypto.subtle.sign('HMAC', keys[0]!.hmac, encoder.encode(`${context}=${id}`));
  return `${id}.${toBase64url(new Uint8Array(mac))}`;
}

/** The id if one of the keys signed it (compared in constant time by `subtle.verify`), else undefined. */
export async function verifyId(
  value: string,
  keys: readonly PurposeKeys[],
  context: string,
): Promise<string | undefined> {
  const dot = value.indexOf('.');
  if (dot !== ID_CHARS || value.length !== ID_CHARS + 1 + MAC_CHARS) return undefined;
  const id = value.slice(0, dot);
  const mac = value.slice(dot + 1);
  if (!BASE64URL.test(id) || !BASE64URL.test(mac)) return undefined;
  const signature = fromBase64url(mac);
  if (signature === undefined) return undefined;
  const data = encoder.encode(`${context}=${id}`);
  for (const key of keys) {
    if (await globalThis.crypto.subtle.verify('HMAC', key.hmac, signature, data)) return id;
  }
  return undefined;
}

const ID_BYTES = 32;
const ID_CHARS = 43; // 32 bytes in unpadded base64url
const MAC_CHARS = 43;

/** A new session id: 256 bits from the CSPRNG, base64url (OWASP asks for at least 64). */
export function newSessionId(): string {
  return toBase64url(globalThis.crypto.getRandomValues(new Uint8Array(ID_BYTES)));
}

/** A random token of `bytes` bytes, base64url. */
export function randomToken(bytes: number): string {
  return toBase64url(globalThis.crypto.getRandomValues(new Uint8Array(bytes)));
}

export function toBase64url(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Strict: only the canonical unpadded form decodes (a length of 1 mod 4 is not base64). */
export function fromBase64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (text.length % 4 === 1 || !BASE64URL.test(text)) return undefined;
  let binary: string;
  try {
    binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return undefined;
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  // The last character may carry unused bits: only the form we write decodes, so that one
  // sealed value has one spelling (no malleable copies of a cookie).
  const last = text.length % 4;
  if (last !== 0 && (BASE64URL_INDEX.indexOf(text[text.length - 1]!) & (last === 2 ? 0x0f : 0x03)) !== 0)
    return undefined;
  return out;
}
