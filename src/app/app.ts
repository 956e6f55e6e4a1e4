import type { RemoteAddress, ServeInfo } from '../gateway/types.ts';
import type { PubSub, WebSocketData } from '../gateway/websocket.ts';
import { createLogger, type Logger } from '../observe/logger.ts';
import { type ChainFn, compileChain, dispatch, type Step } from './compose.ts';
import { Context, type ContextShared } from './context.ts';
import { renderError } from './error-response.ts';
import { AppError } from './errors.ts';
import { HttpError } from './http-error.ts';
import { MALFORMED, RouteError, Router } from './router/index.ts';
import type { Handler, HandlerResult, Inputs, Middleware, Typed, Variables } from './types.ts';

/** Options of `new App()`. */
export interface AppOptions {
  /**
   * Trailing slashes: `strict` (default) treats `/a` and `/a/` as different paths;
   * `redirect` answers 308 to the registered form when only the other one exists.
   */
  trailingSlash?: 'strict' | 'redirect';
  /** Stack traces in error responses. Never in production. */
  dev?: boolean;
  /** Secrets for signed cookies, newest first (older ones still verify: key rotation). */
  cookieSecrets?: string[];
  /**
   * Receives every error the app answers, once: `'error'` for 5xx, `'debug'` for 4xx. Default: a
   * pino logger on stdout writing 5xx errors with the method, path, route and request id;
   * `false` logs nothing.
   */
  log?: ((level: 'error' | 'debug', error: unknown, c: Context) => void) | false;
}

/** An error handler: turns an error into a response. */
export type ErrorHandler<V extends Variables = Variables> = (
  error: unknown,
  c: Context<string, V>,
) => HandlerResult | Promise<HandlerResult>;

type AnyFn = Middleware<string, Variables, Inputs> | Handler<string, Variables, Inputs>;

interface RouteRecord {
  method: string;
  path: string;
  handlers: AnyFn[];
}

interface UseRecord {
  prefix: string;
  fns: AnyFn[];
}

interface Mount {
  prefix: string;
  app: App<Variables>;
}

/** A route as some app answers it: the path with the prefixes of the mounts it came through. */
interface Answered {
  method: string;
  path: string;
}

/** A compiled route: what the router stores. */
export interface CompiledRoute {
  path: string;
  /** App, prefix and route middleware and the handlers, concatenated once at compile time. */
  chain: Step[];
}

type InputsOf<M> = M extends Typed<infer I, Variables> ? I : {};
type VarsOf<M> = M extends Typed<Inputs, infer V> ? V : {};

/**
 * `app.get(path, ...middleware, handler)`: params are inferred from `path`; inputs and
 * variables added by typed middleware (such as `validate()`) reach the handler's context.
 */
export interface RouteMethod<V extends Variables, Self> {
  <P extends string>(path: P, handler: Handler<P, V, {}>): Self;
  <P extends string, M1 extends Middleware<P, V, {}>>(
    path: P,
    m1: M1,
    handler: Handler<P, V & VarsOf<M1>, InputsOf<M1>>,
  ): Self;
  <P extends string, M1 extends Middleware<P, V, {}>, M2 extends Middleware<P, V & VarsOf<M1>, InputsOf<M1>>>(
    path: P,
    m1: M1,
    m2: M2,
    handler: Handler<P, V & VarsOf<M1> & VarsOf<M2>, InputsOf<M1> & InputsOf<M2>>,
  ): Self;
  <
    P extends string,
    M1 extends Middleware<P, V, {}>,
    M2 extends Middleware<P, V & VarsOf<M1>, InputsOf<M1>>,
    M3 extends Middleware<P, V & VarsOf<M1> & VarsOf<M2>, InputsOf<M1> & InputsOf<M2>>,
  >(
    path: P,
    m1: M1,
    m2: M2,
    m3: M3,
    handler: Handler<P, V & VarsOf<M1> & VarsOf<M2> & VarsOf<M3>, InputsOf<M1> & InputsOf<M2> & InputsOf<M3>>,
  ): Self;
  <P extends string>(path: P, ...handlers: [...Middleware<P, V, Inputs>[], Handler<P, V, Inputs>]): Self;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const TEST_REMOTE: RemoteAddress = Object.freeze({ address: '127.0.0.1', port: 0, family: 'IPv4' });

/**
 * A strata app: routes, middleware and error handling behind the gateway contract's `fetch`.
 * It runs on strata's server, on any `node:http` server through the gateway, on Bun and on Deno.
 *
 * @example
 * const app = new App();
 * app.use(async (c, next) => { await next(); c.header('x-served-by', 'strata'); });
 * app.get('/users/:id', (c) => c.json({ id: c.params.id }));
 * export default app;
 */
export class App<V extends Variables = Variables> {
  readonly get: RouteMethod<V, this>;
  readonly post: RouteMethod<V, this>;
  readonly put: RouteMethod<V, this>;
  readonly patch: RouteMethod<V, this>;
  readonly delete: RouteMethod<V, this>;
  readonly options: RouteMethod<V, this>;
  readonly head: RouteMethod<V, this>;
  /** Registers the handlers for every method. */
  readonly all: RouteMethod<V, this>;

  #routes: RouteRecord[];
  #uses: UseRecord[];
  #mounts: Mount[];
  /** The apps this one is mounted in, each with the prefix it is mounted at. */
  #parents: Mount[];
  /**
   * Every route this app answers, its mounts' included, at its full path: registration checks
   * each new route here (and in every app above) before taking it, so a conflict or a bad
   * pattern throws at `app.get()` / `app.route()`, never at the first request.
   */
  #registry: Router<undefined>;
  #answered: Answered[];
  #table: Router<CompiledRoute> | undefined;
  #onError: ErrorHandler<V> | undefined;
  #notFound: Handler<string, V, {}> | undefined;
  #settings: Required<Omit<AppOptions, 'log'>> & {
    log: ((level: 'error' | 'debug', error: unknown, c: Context) => void) | undefined;
  };
  #shared: ContextShared;
  #lifespan: { startup: (() => void | Promise<void>)[]; shutdown: (() => void | Promise<void>)[] };

  constructor(options: AppOptions = {}) {
    this.#routes = [];
    this.#uses = [];
    this.#mounts = [];
    this.#parents = [];
    this.#registry = new Router<undefined>();
    this.#answered = [];
    this.#table = undefined;
    this.#onError = undefined;
    this.#notFound = undefined;
    this.#lifespan = { startup: [], shutdown: [] };
    const secrets = options.cookieSecrets ?? [];
    if (secrets.some((s) => typeof s !== 'string' || s.length < 32)) throw AppError.badCookieSecret();
    this.#settings = {
      trailingSlash: options.trailingSlash ?? 'strict',
      dev: options.dev ?? false,
      cookieSecrets: secrets,
      log: options.log === false ? undefined : (options.log ?? defaultErrorLog()),
    };
    this.#shared = Object.freeze({ cookieSecrets: Object.freeze([...secrets]) });
    const method =
      (name: string) =>
      (path: string, ...handlers: AnyFn[]) =>
        this.#add([name], path, handlers);
    this.get = method('GET') as RouteMethod<V, this>;
    this.post = method('POST') as RouteMethod<V, this>;
    this.put = method('PUT') as RouteMethod<V, this>;
    this.patch = method('PATCH') as RouteMethod<V, this>;
    this.delete = method('DELETE') as RouteMethod<V, this>;
    this.options = method('OPTIONS') as RouteMethod<V, this>;
    this.head = method('HEAD') as RouteMethod<V, this>;
    this.all = ((path: string, ...handlers: AnyFn[]) => {
      return this.#add(METHODS, path, handlers);
    }) as RouteMethod<V, this>;
  }

  /** Registers one route for each of `methods`, all or none. */
  #add(methods: readonly string[], path: string, handlers: AnyFn[]): this {
    const method = methods.join('|');
    if (typeof path !== 'string' || path.charCodeAt(0) !== 47) {
      throw new AppError(
        'STRATA_ERR_ROUTE_PATH',
        `${method} ${String(path)}: a route path must start with "/"`,
      );
    }
    if (handlers.length === 0) {
      throw new AppError('STRATA_ERR_BAD_HANDLER', `${method} ${path}: give at least one handler`);
    }
    handlers.forEach((h, i) => {
      if (typeof h !== 'function') throw AppError.badHandler(method, path, i, h);
    });
    this.#register(
      methods.map((m) => ({ method: m, path })),
      undefined,
    );
    for (const m of methods) this.#routes.push({ method: m, path, handlers });
    this.#table = undefined;
    return this;
  }

  /**
   * Registers handlers for a method, or several, by name (`app.on('PURGE', '/cache', h)`).
   */
  on(
    method: string | string[],
    path: string,
    ...handlers: [...Middleware<string, V, Inputs>[], Handler<string, V, Inputs>]
  ): this {
    for (const m of Array.isArray(method) ? method : [method]) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(m)) {
        throw new AppError('STRATA_ERR_ROUTE_INVALID', `${m} ${path}: the method must be an HTTP token`);
      }
      this.#add([m.toUpperCase()], path, handlers as AnyFn[]);
    }
    return this;
  }

  /**
   * Middleware for every route (`app.use(mw)`) or for the routes under a prefix
   * (`app.use('/admin', mw)`). It runs in registration order, for routes registered before or
   * after it, and also for 404, 405 and automatic OPTIONS answers under its prefix.
   */
  use(...args: [string, ...Middleware<string, V, Inputs>[]] | Middleware<string, V, Inputs>[]): this {
    let prefix = '/';
    let fns = args as AnyFn[];
    if (typeof args[0] === 'string') {
      prefix = normalizePrefix(args[0]);
      fns = args.slice(1) as AnyFn[];
    }
    fns.forEach((fn, i) => {
      if (typeof fn !== 'function') throw AppError.badHandler('USE', prefix, i, fn);
    });
    this.#uses.push({ prefix, fns });
    // The tables of the apps this one is mounted in hold its middleware too.
    for (const up of this.#lineage('')) up.app.#table = undefined;
    return this;
  }

  /**
   * Mounts another app (a group with its own middleware) under `prefix`. Its routes are checked
   * against this app's (and those of every app this one is mounted in) at once: a conflict
   * throws here, as do later routes of either app that conflict.
   */
  route(prefix: string, app: App<Variables>): this {
    const normalized = normalizePrefix(prefix);
    if (!(app instanceof App))
      throw new AppError(
        'STRATA_ERR_BAD_HANDLER',
        `app.route('${normalized}', …) takes an App, got ${typeof app}`,
      );
    if (this.#lineage('').some((up) => up.app === app))
      throw RouteError.invalid(normalized, 'an app cannot be mounted inside itself', 'mount another app');
    this.#register(
      app.#answered.map((r) => ({ method: r.method, path: joinPath(normalized, r.path) })),
      normalized,
    );
    this.#mounts.push({ prefix: normalized, app });
    app.#parents.push({ prefix: normalized, app: this as App<Variables> });
    this.#table = undefined;
    return this;
  }

  /**
   * Takes routes (at paths relative to this app) into this app's registry and that of every
   * app above it, all or none: each is checked everywhere first, so a refusal changes nothing.
   */
  #register(routes: Answered[], mountedAt: string | undefined): void {
    const lineage = this.#lineage('');
    for (const up of lineage) {
      for (const r of routes) {
        try {
          up.app.#registry.check(r.method, joinPath(up.prefix, r.path));
        } catch (err) {
          // Paths are full paths there: say which mount brought the route in.
          if (!(err instanceof RouteError) || (mountedAt === undefined && up.prefix === '')) throw err;
          const how =
            mountedAt !== undefined
              ? `mounting with app.route('${mountedAt}', …)`
              : `in the app mounted at ${up.prefix}`;
          throw new RouteError(err.code, `${err.message} (${how})`);
        }
      }
    }
    for (const up of lineage) {
      for (const r of routes) {
        const path = joinPath(up.prefix, r.path);
        up.app.#registry.add(r.method, path, undefined);
        up.app.#answered.push({ method: r.method, path });
        up.app.#table = undefined;
      }
    }
  }

  /** This app and every app it is mounted in, each with the prefix that leads from it to here. */
  #lineage(
    prefix: string,
    out: { app: App<Variables>; prefix: string }[] = [],
  ): { app: App<Variables>; prefix: string }[] {
    out.push({ app: this as App<Variables>, prefix });
    for (const up of this.#parents) up.app.#lineage(joinPath(up.prefix, prefix), out);
    return out;
  }

  /** Replaces the default error answer (problem+json, or HTML for browsers). */
  onError(handler: ErrorHandler<V>): this {
    this.#onError = handler;
    return this;
  }

  /** Replaces the default 404 answer. */
  notFound(handler: Handler<string, V, {}>): this {
    this.#notFound = handler;
    this.#table = undefined;
    return this;
  }

  /**
   * Runs `fn` once per worker before it accepts traffic (open pools, connect to databases). Hooks
   * run in the order they were added; the server awaits them.
   *
   * @example
   * const pool = new ThreadPool();
   * app.onShutdown(() => pool.close());
   */
  onStartup(fn: () => void | Promise<void>): this {
    if (typeof fn !== 'function') throw AppError.badHandler('onStartup', '(lifespan)', 0, fn);
    this.#lifespan.startup.push(fn);
    return this;
  }

  /** Runs `fn` once per worker after it has drained (close pools and connections); last added runs first. */
  onShutdown(fn: () => void | Promise<void>): this {
    if (typeof fn !== 'function') throw AppError.badHandler('onShutdown', '(lifespan)', 0, fn);
    this.#lifespan.shutdown.unshift(fn);
    return this;
  }

  /**
   * The gateway contract's lifespan: the `onStartup` hooks, of this app and the apps mounted in
   * it. The app that is served builds its route table first, so anything wrong with its routes
   * stops the server before it listens rather than failing the first request.
   */
  async startup(): Promise<void> {
    if (this.#parents.length === 0) this.#table ??= this.#compile();
    for (const fn of this.#lifespan.startup) await fn();
    for (const mount of this.#mounts) await mount.app.startup();
  }

  /** The gateway contract's lifespan: the `onShutdown` hooks, mounted apps' first. */
  async shutdown(): Promise<void> {
    for (const mount of [...this.#mounts].reverse()) await mount.app.shutdown();
    for (const fn of this.#lifespan.shutdown) await fn();
  }

  /**
   * The gateway contract: answers a web `Request`. Bound, so `export default app` and
   * `serve(app.fetch)` both work.
   */
  readonly fetch = (request: Request, info?: ServeInfo): Response | Promise<Response> => {
    const table = this.#table ?? this.#compile();
    const url = request.url;
    const pathStart = url.indexOf('/', url.indexOf('//') + 2);
    const queryStart = pathStart === -1 ? -1 : url.indexOf('?', pathStart);
    const path =
      pathStart === -1 ? '/' : queryStart === -1 ? url.slice(pathStart) : url.slice(pathStart, queryStart);
    const method = request.method;
    let found = table.find(method, path);
    // RFC 9110 §9.3.2: a GET route answers HEAD (the gateway sends no body) unless HEAD has its own.
    if (found === null && method === 'HEAD') found = table.find('GET', path);
    const serveInfo = info ?? testInfo();
    if (found !== null && found !== MALFORMED) {
      // For the server's access log and metrics; only where the server defines the slot.
      if ('route' in serveInfo) serveInfo.route = found.value.path;
      const c = new Context(
        request,
        serveInfo,
        url,
        queryStart,
        found.params,
        found.value.path,
        this.#shared,
      );
      return this.#run(c, found.value.chain);
    }
    const c = new Context(request, serveInfo, url, queryStart, undefined, undefined, this.#shared);
    if (found === MALFORMED) return this.#run(c, this.#fallback(path, badEncoding));
    return this.#run(c, this.#fallback(path, this.#unmatched(table, method, path)));
  };

  /**
   * Runs a request through the app in-process, without a socket: the test client.
   *
   * @example
   * const res = await app.request('/users/1', { headers: { accept: 'application/json' } });
   * assert.equal(res.status, 200);
   */
  request(input: string | URL | Request, init?: RequestInit, info?: Partial<ServeInfo>): Promise<Response> {
    const request =
      input instanceof Request ? input : new Request(new URL(String(input), 'http://localhost'), init);
    try {
      return Promise.resolve(
        this.fetch(request, info === undefined ? undefined : { ...testInfo(), ...info }),
      );
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #run(c: Context, chain: readonly Step[]): Response | Promise<Response> {
    let out: Response | Promise<Response>;
    try {
      out = dispatch(c, chain, 0);
    } catch (err) {
      const answer = this.#handleError(err, c);
      return answer instanceof Promise ? answer.then((r) => c.finalize(r)) : c.finalize(answer);
    }
    if (out instanceof Promise) {
      const recover = this.#recover;
      return out.then(
        (r) => c.finalize(r),
        (err: unknown) => recover(err, c),
      );
    }
    return c.finalize(out);
  }

  /** Answers an error that escaped an async chain (bound once: see #run). */
  readonly #recover = (error: unknown, c: Context): Promise<Response> =>
    Promise.resolve(this.#handleError(error, c)).then((r) => c.finalize(r));

  #handleError(error: unknown, c: Context): Response | Promise<Response> {
    const status = statusOf(error);
    this.#settings.log?.(status >= 500 ? 'error' : 'debug', error, c);
    const handler = this.#onError;
    if (handler !== undefined) {
      try {
        const out = handler(error, c as Context<string, V>);
        if (out instanceof Promise) {
          return out.then(
            (value) => (value instanceof Response ? value : renderError(error, c, this.#settings.dev)),
            (second: unknown) => renderError(second, c, this.#settings.dev),
          );
        }
        if (out instanceof Response) return out;
      } catch (second) {
        return renderError(second, c, this.#settings.dev);
      }
    }
    return renderError(error, c, this.#settings.dev);
  }

  /** What answers a request no route matched: 405, automatic OPTIONS, redirect, or 404. */
  #unmatched(table: Router<CompiledRoute>, method: string, path: string): ChainFn {
    const allowed = table.allowed(path);
    if (allowed.length > 0) {
      const allow = withImplicitMethods(allowed).join(', ');
      if (method === 'OPTIONS') return () => new Response(null, { status: 204, headers: { allow } });
      return () => {
        throw new HttpError(405, `${method} is not allowed on ${path}`, { headers: { allow } });
      };
    }
    if (this.#settings.trailingSlash === 'redirect' && path !== '/') {
      const other = path.endsWith('/') ? path.slice(0, -1) : `${path}/`;
      if (table.allowed(other).length > 0) {
        return (c: Context) => {
          const q = c.req.url.indexOf('?');
          return new Response(null, {
            status: 308,
            headers: { location: q === -1 ? other : other + c.req.url.slice(q) },
          });
        };
      }
    }
    return (this.#notFound as ChainFn | undefined) ?? notFoundHandler;
  }

  /** The middleware that applies to an unmatched path, then `last`. */
  #fallback(path: string, last: ChainFn): Step[] {
    const chain: ChainFn[] = [];
    for (const use of this.#allUses()) {
      if (prefixMatches(use.prefix, path)) chain.push(...(use.fns as ChainFn[]));
    }
    chain.push(last);
    return compileChain(chain);
  }

  #allUses(): UseRecord[] {
    const out: UseRecord[] = [...this.#uses];
    for (const mount of this.#mounts) {
      for (const use of mount.app.#allUses())
        out.push({ prefix: joinPath(mount.prefix, use.prefix), fns: use.fns });
    }
    return out;
  }

  /** Flattens mounts and binds each route to its full chain, then fills the router. */
  #compile(): Router<CompiledRoute> {
    const table = new Router<CompiledRoute>();
    for (const route of this.#flatten('', [])) {
      table.add(route.method, route.path, { path: route.path, chain: compileChain(route.chain) });
    }
    this.#table = table;
    return table;
  }

  #flatten(prefix: string, outer: UseRecord[]): { method: string; path: string; chain: ChainFn[] }[] {
    const uses = [...outer, ...this.#uses.map((u) => ({ prefix: joinPath(prefix, u.prefix), fns: u.fns }))];
    const out: { method: string; path: string; chain: ChainFn[] }[] = [];
    for (const route of this.#routes) {
      const path = prefix === '' ? route.path : joinPath(prefix, route.path);
      const chain: ChainFn[] = [];
      for (const use of uses) if (prefixMatches(use.prefix, path)) chain.push(...(use.fns as ChainFn[]));
      chain.push(...(route.handlers as ChainFn[]));
      out.push({ method: route.method, path, chain });
    }
    for (const mount of this.#mounts) out.push(...mount.app.#flatten(joinPath(prefix, mount.prefix), uses));
    return out;
  }

  /**
   * Sends `data` to every WebSocket subscribed to `topic`, in every worker and instance (through
   * the server's broker). Needs a running server with WebSockets (strata's `serve()`).
   *
   * @example
   * app.post('/announce', async (c) => { app.publish('lobby', await c.req.text()); return c.empty(); });
   */
  publish(topic: string, data: WebSocketData, compress?: boolean): void {
    const pubsub = pubsubs.get(this);
    if (pubsub === undefined) throw AppError.noPubSub(topic);
    pubsub.publish(topic, data, compress);
  }

  /** How many sockets in this process are subscribed to `topic` (0 when no server is attached). */
  subscriberCount(topic: string): number {
    return pubsubs.get(this)?.subscriberCount(topic) ?? 0;
  }

  /** The gateway contract: the server hands over its publish/subscribe hub (and takes it back). */
  attachPubSub(pubsub: PubSub | undefined): void {
    if (pubsub === undefined) pubsubs.delete(this);
    else pubsubs.set(this, pubsub);
    for (const mount of this.#mounts) mount.app.attachPubSub(pubsub);
  }
}

// Kept beside the app rather than in it: only apps that publish pay for the slot.
const pubsubs = new WeakMap<object, PubSub>();

/** The default `log`: 5xx errors to a pino logger on stdout, created on the first error. */
function defaultErrorLog(): (level: 'error' | 'debug', error: unknown, c: Context) => void {
  let logger: Logger | undefined;
  return (level, error, c) => {
    if (level !== 'error') return;
    logger ??= createLogger();
    const url = c.req.url;
    const pathStart = url.indexOf('/', url.indexOf('//') + 2);
    logger.error(
      {
        err: error,
        method: c.req.method,
        path: url.slice(pathStart),
        route: c.routePath,
        requestId: c.get('requestId'),
      },
      'request failed',
    );
  };
}

function badEncoding(): never {
  throw new HttpError(400, 'The request path has malformed percent-encoding');
}

function notFoundHandler(c: Context): never {
  throw new HttpError(404, `No route for ${c.req.method} ${new URL(c.req.url).pathname}`);
}

/** RFC 9110 §9.3.2: a GET resource answers HEAD; OPTIONS is always answered. */
function withImplicitMethods(allowed: string[]): string[] {
  const set = new Set(allowed);
  if (set.has('GET')) set.add('HEAD');
  set.add('OPTIONS');
  return [...set].sort();
}

function statusOf(error: unknown): number {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status <= 599 ? status : 500;
}

function normalizePrefix(prefix: string): string {
  if (prefix === '' || prefix === '*' || prefix === '/*') return '/';
  let p = prefix.charCodeAt(0) === 47 ? prefix : `/${prefix}`;
  if (p.endsWith('/*')) p = p.slice(0, -2);
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

function joinPath(prefix: string, path: string): string {
  if (prefix === '' || prefix === '/') return path;
  if (path === '/') return prefix;
  return prefix + path;
}

/** `/api` covers `/api` and `/api/...`, not `/apiary`. */
function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47);
}

function testInfo(): ServeInfo {
  return {
    remote: TEST_REMOTE,
    protocol: 'http/1.1',
    secure: false,
    waitUntil(work: Promise<unknown>) {
      work.catch(() => {});
    },
  };
}
