/**
 * A `Headers` that reads node's `rawHeaders` only when asked.
 *
 * Building an undici `Headers` per request costs more than routing and the handler together, and
 * most handlers read two or three headers, if any. `get`/`has` scan `rawHeaders` in place (no
 * object is built, not even node's own `req.headers`); anything that iterates or mutates builds a
 * real `Headers` once and delegates to it from then on. Values are combined as the Fetch spec
 * says (", " between repeats), which differs from node's `req.headers` for the singleton headers
 * node drops duplicates of; `getSetCookie` keeps cookies separate. Repeated `Cookie` lines are
 * joined with "; " instead (RFC 9113 §8.2.3, RFC 6265 §5.4: one cookie-string), as node's
 * `req.headers` and undici's `Headers` do: joined with ", ", `a=1` and `b=2` would read as one
 * cookie `a` of value `1, b=2`.
 */

import { TOKEN } from './http.ts';

const NativeHeaders = globalThis.Headers;

/** A name the native Headers would refuse is refused here too, before or after materializing. */
function checkName(name: string): string {
  if (!TOKEN.test(name)) throw new TypeError(`Headers: invalid header name ${JSON.stringify(name)}`);
  return name.toLowerCase();
}

export class NodeHeaders {
  #raw: string[];
  #native: Headers | undefined;

  constructor(rawHeaders: string[]) {
    this.#raw = rawHeaders;
    this.#native = undefined;
  }

  /** The real `Headers`, built on first need; later reads and writes go to it. */
  #materialize(): Headers {
    let native = this.#native;
    if (native === undefined) {
      native = new NativeHeaders();
      const raw = this.#raw;
      for (let i = 0; i < raw.length; i += 2) native.append(raw[i]!, raw[i + 1]!);
      this.#native = native;
    }
    return native;
  }

  get(name: string): string | null {
    if (this.#native !== undefined) return this.#native.get(name);
    const raw = this.#raw;
    const lower = checkName(name);
    const len = lower.length;
    let found: string | null = null;
    for (let i = 0; i < raw.length; i += 2) {
      const key = raw[i]!;
      if (key.length === len && (key === lower || key.toLowerCase() === lower)) {
        found = found === null ? raw[i + 1]! : `${found}${lower === 'cookie' ? '; ' : ', '}${raw[i + 1]!}`;
      }
    }
    return found;
  }

  has(name: string): boolean {
    if (this.#native !== undefined) return this.#native.has(name);
    const raw = this.#raw;
    const lower = checkName(name);
    const len = lower.length;
    for (let i = 0; i < raw.length; i += 2) {
      const key = raw[i]!;
      if (key.length === len && (key === lower || key.toLowerCase() === lower)) return true;
    }
    return false;
  }

  getSetCookie(): string[] {
    return this.#materialize().getSetCookie();
  }

  set(name: string, value: string): void {
    this.#materialize().set(name, value);
  }

  append(name: string, value: string): void {
    this.#materialize().append(name, value);
  }

  delete(name: string): void {
    this.#materialize().delete(name);
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    const native = this.#materialize();
    for (const [key, value] of native) callback.call(thisArg, value, key, this as Headers);
  }

  entries(): HeadersIterator<[string, string]> {
    return this.#materialize().entries();
  }

  keys(): HeadersIterator<string> {
    return this.#materialize().keys();
  }

  values(): HeadersIterator<string> {
    return this.#materialize().values();
  }

  [Symbol.iterator](): HeadersIterator<[string, string]> {
    return this.#materialize()[Symbol.iterator]();
  }

  get [Symbol.toStringTag](): string {
    return 'Headers';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): Headers {
    return this.#materialize();
  }

  /** The real `Headers` behind this object (built if needed), for natives that brand-check. */
  static toNative(headers: NodeHeaders): Headers {
    return headers.#materialize();
  }
}

// `headers instanceof Headers` holds, and methods not defined above fall through to the native
// prototype (where they brand-check and throw) instead of silently answering undefined.
Object.setPrototypeOf(NodeHeaders.prototype, NativeHeaders.prototype);
