/**
 * Which media types are worth compressing: text-like ones. Images, audio, video, fonts in WOFF
 * and archives are compressed already; compressing them again costs CPU and saves nothing.
 */
import { trimOws } from '../http.ts';

/**
 * The default list (nginx's `gzip_types` idea with wildcards): `type/subtype`, `type/*`, or
 * `type/*+suffix` for structured-syntax suffixes (RFC 6838 §4.2.8: `application/ld+json`,
 * `application/problem+json`, `application/atom+xml`…).
 */
export const COMPRESSIBLE_TYPES: readonly string[] = [
  'text/*',
  'application/json',
  'application/*+json',
  'application/xml',
  'application/*+xml',
  'application/javascript',
  'application/x-javascript',
  'application/wasm',
  'application/yaml',
  'image/svg+xml',
  'image/x-icon',
  'font/ttf',
  'font/otf',
];

const TYPE = /^[a-z0-9!#$&^_.+-]+\/(\*|\*\+[a-z0-9!#$&^_.+-]+|[a-z0-9!#$&^_.+-]+)$/;

/** A matcher over a list of media-type patterns, built once at startup. */
export class CompressibleTypes {
  #exact: Set<string>;
  #prefixes: string[];
  #suffixes: [prefix: string, suffix: string][];
  // Responses carry few distinct Content-Type values: remember the answers (bounded).
  #seen = new Map<string, boolean>();

  /** Throws a TypeError naming the first pattern that is not `type/subtype`, `type/*` or `type/*+suffix`. */
  constructor(patterns: readonly string[]) {
    this.#exact = new Set();
    this.#prefixes = [];
    this.#suffixes = [];
    for (const raw of patterns) {
      const pattern = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
      if (!TYPE.test(pattern))
        throw new TypeError(
          `compression.types: ${JSON.stringify(raw)} is not a media type pattern (type/subtype, type/* or type/*+suffix)`,
        );
      const slash = pattern.indexOf('/');
      const subtype = pattern.slice(slash + 1);
      if (subtype === '*') this.#prefixes.push(pattern.slice(0, slash + 1));
      else if (subtype.startsWith('*+')) this.#suffixes.push([pattern.slice(0, slash + 1), subtype.slice(1)]);
      else this.#exact.add(pattern);
    }
  }

  /** Whether a `Content-Type` value (parameters allowed, any case) names a compressible type. */
  has(contentType: string): boolean {
    const known = this.#seen.get(contentType);
    if (known !== undefined) return known;
    const answer = this.#match(contentType);
    if (this.#seen.size >= 256) this.#seen.clear();
    this.#seen.set(contentType, answer);
    return answer;
  }

  #match(contentType: string): boolean {
    const semi = contentType.indexOf(';');
    const essence = trimOws(semi === -1 ? contentType : contentType.slice(0, semi)).toLowerCase();
    const slash = essence.indexOf('/');
    if (slash <= 0 || slash === essence.length - 1) return false;
    if (this.#exact.has(essence)) return true;
    const type = essence.slice(0, slash + 1);
    for (const prefix of this.#prefixes) if (type === prefix) return true;
    for (const [prefix, suffix] of this.#suffixes)
      if (type === prefix && essence.endsWith(suffix) && essence.length > prefix.length + suffix.length)
        return true;
    return false;
  }
}

const defaults = new CompressibleTypes(COMPRESSIBLE_TYPES);

/**
 * Whether a media type is worth compressing by the default list.
 *
 * @example
 * isCompressible('application/json; charset=utf-8'); // true
 * isCompressible('image/png');                       // false
 */
export function isCompressible(contentType: string): boolean {
  return defaults.has(contentType);
}

/**
 * Whether a response with `status` may have its body compressed: not a 1xx, 204 or 304 (no body,
 * RFC 9110 §15.2, §15.3.5, §15.4.5) nor a 206, whose ranges address the identity bytes.
 */
export function isCompressibleStatus(status: number): boolean {
  return status >= 200 && status !== 204 && status !== 206 && status !== 304;
}
