import type { Context } from '../context.ts';
import type { CookieOptions } from '../cookies.ts';
import { AppError } from '../errors.ts';
import {
  deriveKeys,
  newSessionId,
  type PurposeKeys,
  seal,
  signId,
  unseal,
  verifyId,
} from '../session/seal.ts';
import type { SessionRecord, SessionStore } from '../session/store.ts';
import { createMiddleware, type TypedMiddleware } from './create-middleware.ts';

/** The session cookie's attributes. */
export interface SessionCookieOptions {
  /** Default `sid`; sent as `__Host-sid` when the cookie is Secure, host-only and on `/`. */
  name?: string;
  /**
   * Default `true`. `'auto'`: Secure when the request came over TLS (`c.info.secure`), for an
   * app served both as http://localhost in development and behind https in production; behind
   * a TLS-terminating proxy, `info.secure` is right only if the server trusts that proxy.
   * `false` only for plain-http development.
   */
  secure?: boolean | 'auto';
  /** Default `Lax`: the cookie goes with top-level navigations from other sites, not with their POSTs. */
  sameSite?: 'Strict' | 'Lax' | 'None';
  /** A Domain makes the cookie reach subdomains (and gives up the `__Host-` prefix). Default none. */
  domain?: string;
  /** Default `/`. */
  path?: string;
  partitioned?: boolean;
}

/** Options of `session()`. */
export interface SessionOptions {
  /**
   * Where sessions live. Default: none, the whole session travels in the cookie, encrypted and
   * authenticated (AES-256-GCM); at most about 3 KB of JSON fits. A store keeps them on the
   * server (`MemorySessionStore`, `RedisSessionStore`) and the cookie holds a signed id.
   */
  store?: SessionStore;
  /**
   * Secrets (at least 32 characters each), newest first: the first seals and signs, every one
   * opens (rotation: put the new secret first, drop the old one once its sessions have expired).
   * Default: the app's `cookieSecrets`.
   */
  secrets?: string[];
  /**
   * What the keys are derived for (HKDF `info`): two middlewares with different purposes never
   * accept each other's cookies, even with the same secrets. Default `session`.
   */
  purpose?: string;
  /** Seconds without a saved request after which the session is over. Default 1800 (30 min). */
  idleTimeout?: number;
  /** Seconds after its creation (or its last `regenerate()`) when the session is over, however active. Default 43 200 (12 h). */
  absoluteTimeout?: number;
  /**
   * Seconds between two saves of an unchanged session to extend its idle timeout (a cookie
   * session then sends a new cookie). Default: half the idle timeout, at most 60.
   */
  touchAfter?: number;
  cookie?: SessionCookieOptions;
  /** The clock (ms), for tests. Default `Date.now`. */
  now?: () => number;
}

/** Defaults of `session()`; docs/app.md shows the same. */
export const SESSION_DEFAULTS = {
  name: 'sid',
  purpose: 'session',
  idleTimeout: 1800,
  absoluteTimeout: 43_200,
  secure: true,
  sameSite: 'Lax',
  path: '/',
} as const;

/** Browsers keep at most 4096 bytes of name, value and attributes per cookie (RFC 6265 §6.1). */
const COOKIE_LIMIT = 4096;
const ATTRIBUTES_ROOM = 160;

/** What one middleware shares with the sessions it creates. */
interface Control {
  readonly store: SessionStore | undefined;
  readonly now: () => number;
}

/**
 * The request's session: `c.get('session')` after `session()`. Values are typed by the
 * middleware's generic (`session<{ userId: string }>()`) and must survive JSON. Nothing is saved
 * (and no cookie sent) unless a value changes, the session is regenerated or destroyed, or its
 * idle timeout needs extending.
 *
 * @example
 * app.post('/login', async (c) => {
 *   const s = c.get('session');
 *   await s.regenerate(); // a new id at every privilege change: the old one is destroyed
 *   s.set('userId', user.id);
 *   return c.redirect('/');
 * });
 */
export class Session<T extends object = Record<string, unknown>> {
  #control: Control;
  #id: string;
  #data: Record<string, unknown>;
  #createdAt: number;
  #touchedAt: number;
  #isNew: boolean;
  #dirty: boolean;
  #idChanged: boolean;
  #destroyed: boolean;

  /** @internal Made by `session()`. */
  constructor(control: Control, id: string | undefined, record: SessionRecord | undefined) {
    this.#control = control;
    const now = control.now();
    this.#id = id ?? newSessionId();
    this.#data = record?.data ?? {};
    this.#createdAt = record?.createdAt ?? now;
    this.#touchedAt = record?.touchedAt ?? now;
    this.#isNew = record === undefined;
    this.#dirty = false;
    this.#idChanged = false;
    this.#destroyed = false;
  }

  /** The session's id (server-side stores key on it; a cookie session carries it inside). */
  get id(): string {
    return this.#id;
  }

  /** True when the request brought no valid session (nothing saved yet). */
  get isNew(): boolean {
    return this.#isNew;
  }

  /** When the session began (ms): the absolute timeout counts from here. */
  get createdAt(): number {
    return this.#createdAt;
  }

  get<K extends keyof T & string>(key: K): T[K] | undefined {
    return this.#data[key] as T[K] | undefined;
  }

  has(key: keyof T & string): boolean {
    return Object.hasOwn(this.#data, key);
  }

  set<K extends keyof T & string>(key: K, value: T[K]): void {
    if (this.#destroyed) this.#restart();
    // A plain own property: `__proto__` as a key is data, never the prototype.
    Object.defineProperty(this.#data, key, { value, enumerable: true, writable: true, configurable: true });
    this.#dirty = true;
  }

  delete(key: keyof T & string): void {
    if (!Object.hasOwn(this.#data, key)) return;
    delete this.#data[key];
    this.#dirty = true;
  }

  /**
   * A new id for the same values, and a new absolute lifetime: call it at login and at every
   * change of privilege. A server-side store forgets the old id at once, so an id an attacker
   * planted (session fixation) or saw is worth nothing after it.
   */
  async regenerate(): Promise<void> {
    const store = this.#control.store;
    if (store !== undefined && !this.#isNew) await store.destroy(this.#id);
    this.#id = newSessionId();
    this.#createdAt = this.#control.now();
    this.#isNew = true;
    this.#idChanged = true;
    this.#dirty = true;
    this.#destroyed = false;
  }

  /** Ends the session: the store forgets it and the cookie is expired (logout). */
  async destroy(): Promise<void> {
    const store = this.#control.store;
    if (store !== undefined && !this.#isNew) await store.destroy(this.#id);
    this.#data = {};
    this.#destroyed = true;
    this.#dirty = false;
  }

  #restart(): void {
    this.#id = newSessionId();
    this.#createdAt = this.#control.now();
    this.#isNew = true;
    this.#idChanged = true;
    this.#destroyed = false;
  }

  /** @internal What the middleware does once the rest of the chain has answered. */
  static outcome(s: Session<object>): {
    destroyed: boolean;
    dirty: boolean;
    isNew: boolean;
    idChanged: boolean;
    record: SessionRecord;
  } {
    return {
      destroyed: s.#destroyed,
      dirty: s.#dirty,
      isNew: s.#isNew,
      idChanged: s.#idChanged,
      record: { data: s.#data, createdAt: s.#createdAt, touchedAt: s.#touchedAt },
    };
  }
}

/** The cookie session's sealed payload: id, data, created, touched. */
interface CookiePayload {
  i: string;
  d: Record<string, unknown>;
  c: number;
  t: number;
}

function isPayload(value: unknown): value is CookiePayload {
  if (value === null || typeof value !== 'object') return false;
  const p = value as CookiePayload;
  return (
    typeof p.i === 'string' &&
    typeof p.d === 'object' &&
    p.d !== null &&
    !Array.isArray(p.d) &&
    Number.isFinite(p.c) &&
    Number.isFinite(p.t)
  );
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`session({ ${name} }) must be a positive number of seconds`);
  return value;
}

function checkSecrets(secrets: readonly string[]): void {
  if (secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s.length < 32))
    throw AppError.sessionSecret('session()');
}

/**
 * Sessions: `c.get('session')` in every handler after it. Without a store the whole session is
 * in the cookie, encrypted and authenticated with AES-256-GCM under a key derived for this
 * purpose from the first secret (all the secrets open it); with a store, the cookie holds a
 * signed random id. A cookie that was tampered with, truncated, sealed with another key or
 * expired is no session, never an error. Idle and absolute timeouts are checked on every read.
 * The cookie is `HttpOnly`, `Secure`, `SameSite=Lax`, `Path=/` and named `__Host-sid` by default.
 *
 * Keys come from WebCrypto (`crypto.subtle`: HKDF-SHA256, AES-256-GCM, HMAC-SHA256), the same on
 * Node, Bun, Deno and workers.
 *
 * @example
 * const app = new App({ cookieSecrets: [process.env.COOKIE_SECRET!] });
 * app.use(session<{ userId: string }>({ store: new MemorySessionStore() }));
 * app.get('/me', (c) => c.json({ user: c.get('session').get('userId') ?? null }));
 */
export function session<T extends object = Record<string, unknown>>(
  options: SessionOptions = {},
): TypedMiddleware<{ session: Session<T> }> {
  const store = options.store;
  const now = options.now ?? Date.now;
  const purpose = options.purpose ?? SESSION_DEFAULTS.purpose;
  const idleMs = positive(options.idleTimeout ?? SESSION_DEFAULTS.idleTimeout, 'idleTimeout') * 1000;
  const absoluteMs =
    positive(options.absoluteTimeout ?? SESSION_DEFAULTS.absoluteTimeout, 'absoluteTimeout') * 1000;
  const touchMs =
    options.touchAfter === undefined
      ? Math.min(60_000, idleMs / 2)
      : positive(options.touchAfter, 'touchAfter') * 1000;
  const cookie = options.cookie ?? {};
  const baseName = cookie.name ?? SESSION_DEFAULTS.name;
  const secureOption = cookie.secure ?? SESSION_DEFAULTS.secure;
  const path = cookie.path ?? SESSION_DEFAULTS.path;
  const hostOnly = cookie.domain === undefined && path === '/' && !baseName.startsWith('__');
  const attributes: CookieOptions = {
    path,
    httpOnly: true,
    sameSite: cookie.sameSite ?? SESSION_DEFAULTS.sameSite,
  };
  if (cookie.domain !== undefined) attributes.domain = cookie.domain;
  if (cookie.partitioned === true) attributes.partitioned = true;
  if (options.secrets !== undefined) checkSecrets(options.secrets);
  const control: Control = { store, now };

  // Keys are derived once per list of secrets (the app's are known at the first request).
  let keys: Promise<PurposeKeys[]> | undefined;
  const keysFor = (c: Context): Promise<PurposeKeys[]> => {
    if (keys === undefined) {
      const secrets = options.secrets ?? c.shared.cookieSecrets;
      checkSecrets(secrets);
      keys = deriveKeys(secrets, `strata session\u0000${purpose}`);
    }
    return keys;
  };

  const expired = (createdAt: number, touchedAt: number, at: number): boolean =>
    at - createdAt >= absoluteMs || at - touchedAt >= idleMs || createdAt > at + 60_000;

  const load = async (
    raw: string | undefined,
    k: PurposeKeys[],
  ): Promise<{ id: string | undefined; record: SessionRecord | undefined }> => {
    if (raw === undefined || raw === '') return { id: undefined, record: undefined };
    const at = now();
    if (store === undefined) {
      const plain = await unseal(raw, k, baseName, COOKIE_LIMIT);
      if (plain === undefined) return { id: undefined, record: undefined };
      let payload: unknown;
      try {
        payload = JSON.parse(plain);
      } catch {
        return { id: undefined, record: undefined };
      }
      if (!isPayload(payload) || expired(payload.c, payload.t, at))
        return { id: undefined, record: undefined };
      return { id: payload.i, record: { data: payload.d, createdAt: payload.c, touchedAt: payload.t } };
    }
    const id = await verifyId(raw, k, baseName);
    // An id that is not signed by us, or that the store does not hold, is never adopted: the
    // session that follows gets a fresh id (session fixation, OWASP).
    if (id === undefined) return { id: undefined, record: undefined };
    const record = await store.get(id);
    if (record === undefined) return { id: undefined, record: undefined };
    if (expired(record.createdAt, record.touchedAt, at)) {
      await store.destroy(id);
      return { id: undefined, record: undefined };
    }
    return { id, record };
  };

  return createMiddleware<{ session: Session<T> }>(async (c, next) => {
    const secure = secureOption === 'auto' ? c.info.secure : secureOption;
    const name = secure && hostOnly ? `__Host-${baseName}` : baseName;
    const k = await keysFor(c as Context);
    const raw = c.cookies[name];
    const { id, record } = await load(raw, k);
    const s = new Session<T>(control, id, record);
    c.set('session', s);
    await next();

    const out = Session.outcome(s as Session<object>);
    const at = now();
    if (out.destroyed) {
      if (raw !== undefined)
        c.deleteCookie(name, {
          path,
          secure,
          ...(cookie.domain === undefined ? {} : { domain: cookie.domain }),
        });
      return;
    }
    const touch = !out.isNew && at - out.record.touchedAt >= touchMs;
    if (!out.dirty && !touch) return;
    const saved: SessionRecord = { data: out.record.data, createdAt: out.record.createdAt, touchedAt: at };
    const maxAge = Math.max(1, Math.floor((saved.createdAt + absoluteMs - at) / 1000));
    let value: string | undefined;
    if (store === undefined) {
      const payload: CookiePayload = { i: s.id, d: saved.data, c: saved.createdAt, t: saved.touchedAt };
      value = await seal(JSON.stringify(payload), k, baseName);
      const size = name.length + 1 + value.length + ATTRIBUTES_ROOM;
      if (size > COOKIE_LIMIT) throw AppError.sessionTooLarge(size, COOKIE_LIMIT);
    } else {
      await store.set(s.id, saved, idleMs);
      // The cookie holds only the id: it is sent again only when the id is new.
      if (out.isNew || out.idChanged || raw === undefined) value = await signId(s.id, k, baseName);
    }
    if (value !== undefined) c.setCookie(name, value, { ...attributes, secure, maxAge });
  });
}
