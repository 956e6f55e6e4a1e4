/**
 * The `Headers` of a `FastResponse`: a plain object underneath (lowercase names; Set-Cookie as
 * an array), so that middleware adding a header after the handler (`res.headers.set(...)`)
 * costs a property write instead of building undici's `Headers` (webidl conversions and a
 * sorted copy on every iteration), and the Node gateway hands the object to `writeHead` as is.
 *
 * Names and values are checked as the Fetch standard does (RFC 9110 token names; no CR, LF or
 * NUL in values; surrounding whitespace trimmed), and `instanceof Headers` holds.
 */

import { TOKEN } from './http.ts';

const NativeHeaders = globalThis.Headers;
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the forbidden bytes.
const BAD_VALUE = /[\r\n\u0000]/;

export type HeaderRecord = Record<string, string | string[]>;

// Names that passed the check, with their lowercase form. An app uses a few dozen names, and the
// regex costs more than the rest of a header write (api bench: ~130 ns of the ~270 ns it took
// to copy a response's four headers); capped, so that names made from input cannot grow it.
const CHECKED_NAMES = new Map<string, string>();
const CHECKED_NAMES_MAX = 512;

function checkName(name: string): string {
  const known = CHECKED_NAMES.get(name);
  if (known !== undefined) return known;
  if (!TOKEN.test(name)) throw new TypeError(`Headers: invalid header name ${JSON.stringify(name)}`);
  const lower = name.toLowerCase();
  if (CHECKED_NAMES.size < CHECKED_NAMES_MAX) CHECKED_NAMES.set(name, lower);
  return lower;
}

function isHttpWhitespace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13;
}

function checkValue(name: string, value: string): string {
  let v = typeof value === 'string' ? value : String(value);
  // Fetch "normalize": strip leading and trailing HTTP whitespace (rarely there: test first).
  if (v.length > 0 && (isHttpWhitespace(v.charCodeAt(0)) || isHttpWhitespace(v.charCodeAt(v.length - 1)))) {
    v = v.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  }
  if (BAD_VALUE.test(v)) throw new TypeError(`Headers: invalid value for ${name}`);
  return v;
}

/**
 * An empty record whose prototype chain holds nothing: `record.constructor`, `record.toString`
 * and `record.__proto__` are undefined until set, and `__proto__` is a name like any other (no
 * Object.prototype setter in the chain). A plain `{}` answered `has('constructor')` with true
 * and printed a function for it; `Object.create(null)` starts in dictionary mode, measurably
 * slower on this path (api bench: -9% CPU per request), while `new HeaderStore()` is a fast-mode
 * object like `{}`. node's `writeHead` takes it as is.
 */
export const HeaderStore = class HeaderStore {} as new () => HeaderRecord;
delete (HeaderStore.prototype as { constructor?: unknown }).constructor;
Object.setPrototypeOf(HeaderStore.prototype, null);

export class FastHeaders {
  #map: HeaderRecord;

  constructor(init?: HeadersInit | null, defaultType?: string) {
    this.#map = new HeaderStore();
    if (init !== undefined && init !== null) {
      if (init instanceof FastHeaders) {
        for (const key in init.#map) {
          const v = init.#map[key]!;
          this.#map[key] = Array.isArray(v) ? [...v] : v;
        }
      } else if (Array.isArray(init) || init instanceof NativeHeaders || Symbol.iterator in init) {
        for (const pair of init as Iterable<[string, string]>) {
          if (pair.length !== 2) throw new TypeError('Headers: each pair must have exactly two items');
          this.append(pair[0], pair[1]);
        }
      } else {
        const record = init as Record<string, string>;
        for (const key in record) this.append(key, record[key]!);
      }
    }
    if (defaultType !== undefined && this.#map['content-type'] === undefined)
      this.#map['content-type'] = defaultType;
  }

  get(name: string): string | null {
    const v = this.#map[checkName(name)];
    if (v === undefined) return null;
    return Array.isArray(v) ? v.join(', ') : v;
  }

  has(name: string): boolean {
    return this.#map[checkName(name)] !== undefined;
  }

  set(name: string, value: string): void {
    const key = checkName(name);
    const v = checkValue(key, value);
    this.#map[key] = key === 'set-cookie' ? [v] : v;
  }

  append(name: string, value: string): void {
    const key = checkName(name);
    const v = checkValue(key, value);
    const prev = this.#map[key];
    if (prev === undefined) this.#map[key] = key === 'set-cookie' ? [v] : v;
    else if (Array.isArray(prev)) prev.push(v);
    else this.#map[key] = `${prev}, ${v}`;
  }

  delete(name: string): void {
    delete this.#map[checkName(name)];
  }

  getSetCookie(): string[] {
    const v = this.#map['set-cookie'];
    return v === undefined ? [] : Array.isArray(v) ? [...v] : [v];
  }

  /** Fetch §5.2 iteration: sorted by name, each Set-Cookie on its own, others combined. */
  *entries(): HeadersIterator<[string, string]> {
    const keys = Object.keys(this.#map).sort();
    for (const key of keys) {
      const v = this.#map[key];
      if (v === undefined) continue;
      if (Array.isArray(v)) {
        if (key === 'set-cookie') for (const c of v) yield [key, c];
        else yield [key, v.join(', ')];
      } else yield [key, v];
    }
  }

  *keys(): HeadersIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): HeadersIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): HeadersIterator<[string, string]> {
    return this.entries();
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this as Headers);
  }

  get [Symbol.toStringTag](): string {
    return 'Headers';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): object {
    return { ...this.#map };
  }

  /** The record underneath, for the gateway's `writeHead` (lowercase names, Set-Cookie arrays). */
  static record(headers: FastHeaders): HeaderRecord {
    return headers.#map;
  }
}

Object.setPrototypeOf(FastHeaders.prototype, NativeHeaders.prototype);
