import { isToken, pathOf, searchOf, serializedPathStart } from '../gateway/http.ts';
import type { RemoteAddress, ServeInfo } from '../gateway/types.ts';
import type { PubSub, WebSocketData } from '../gateway/websocket.ts';
import { loggableError } from '../observe/loggable-error.ts';
import { createLogger, type Logger } from '../observe/logger.ts';
import { type ChainFn, compileChain, dispatch, type Step } from './compose.ts';
import { Context, type ContextShared } from './context.ts';
import { errorStatus, renderError } from './error-response.ts';
import { AppError } from './errors.ts';
import { HttpError } from './http-error.ts';
import { LocalPubSub, type PublishListener } from './local-pubsub.ts';
import { isAccessRule } from './middleware/auth/shared.ts';
import { MALFORMED, RouteError, Router } from './router/index.ts';
import type { Handler, Inputs, Middleware, MiddlewareResult, Typed, Variables } from './types.ts';

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
  /**
   * `deny-by-default`: every route must have an access rule in its chain (an auth middleware or
   * guard, in the route or in an `app.use()` registered before it, or `publicRoute()`), else its
   * registration throws `STRATA_ERR_NO_ACCESS_RULE`. Default `allow-by-default`.
   */
  access?: 'allow-by-default' | 'deny-by-default';
}

/** An error handler: turns an error into a response (returning nothing leaves the default answer). */
export type ErrorHandler<V extends Variables = {}> = (
  error: unknown,
  c: Context<string, V>,
) => MiddlewareResult | Promise<MiddlewareResult> | void | Promise<void>;

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

/** A route as `app.routes()` lists it. */
export interface RouteEntry {
  method: string;
  /** The full path, with the prefixes of the mounts it came through. */
  path: string;
  /** Middleware and handlers, in the order they run. */
  chain: readonly ((...args: never[]) => unknown)[];
}

/** A compiled route: what the router stores. */
export interface CompiledRoute {
  path: string;
  /** App, prefix and route middleware and the handlers, concatenated once at compile time. */
  chain: Step[];
}

type InputsOf<M> = M extends Typed<infer I, Variables> ? I : {};
type VarsOf<M> = M extends Typed<Inputs, infer V> ? V : {};
/** The variables a list of middleware declares (`createMiddleware<Vars>()`), all together. */
type VarsOfAll<M extends readonly unknown[]> = M extends readonly [infer H, ...infer R]
  ? VarsOf<H> & VarsOfAll<R>
  : {};

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
export class App<V extends Variables = {}> {
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
      access: options.access === 'deny-by-default' ? 'deny-by-default' : 'allow-by-default',
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
    this.#checkAccess(method, path, handlers.some(isAccessRule));
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
      if (!isToken(m)) {
        throw new AppError('STRATA_ERR_ROUTE_INVALID', `${m} ${path}: the method must be an HTTP token`);
      }
      this.#add([m.toUpperCase()], path, handlers as AnyFn[]);
    }
    return this;
  }

  /**
   * Middleware for every route (`app.use(mw)`) or for the routes under a prefix
   * (`app.use('/admin', mw)`). It runs in registration order, for routes registered before or
   * after it, and also for 404, 405 and automatic OPTIONS answers under its prefix. Without a
   * prefix it returns the app typed with the variables its middleware declare
   * (`createMiddleware<Vars>()`), so `const app = new App().use(auth)` types `c.get('user')`.
   */
  use<const M extends Middleware<string, V, Inputs>[]>(...middleware: M): App<V & VarsOfAll<M>>;
  use(prefix: string, ...middleware: Middleware<string, V, Inputs>[]): this;
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
  route<W extends Variables>(prefix: string, mounted: App<W>): this {
    const app = mounted as unknown as App<Variables>;
    const normalized = normalizePrefix(prefix);
    if (!(app instanceof App))
      throw new AppError(
        'STRATA_ERR_BAD_HANDLER',
        `app.route('${normalized}', …) takes an App, got ${typeof app}`,
      );
    if (this.#lineage('').some((up) => up.app === app))
      throw RouteError.invalid(normalized, 'an app cannot be mounted inside itself', 'mount another app');
    for (const r of app.#flatten('', [])) {
      this.#checkAccess(r.method, joinPath(normalized, r.path), r.chain.some(isAccessRule));
    }
    this.#register(
      app.#answered.map((r) => ({ method: r.method, path: joinPath(normalized, r.path) })),
      normalized,
    );
    this.#mounts.push({ prefix: normalized, app });
    app.#parents.push({ prefix: normalized, app: this as unknown as App<Variables> });
    mountHub(this, app);
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

  /**
   * Deny-by-default: throws unless every app in that mode that would answer `path` (relative to
   * this app) sees an access rule in the route's chain: `ruled` (the chain below this app), this
   * app's `use()` middleware for the path, or those of the apps in between.
   */
  #checkAccess(method: string, path: string, ruled: boolean): void {
    const here = ruled || this.#uses.some((u) => prefixMatches(u.prefix, path) && u.fns.some(isAccessRule));
    if (!here && this.#settings.access === 'deny-by-default') throw AppError.noAccessRule(method, path);
    for (const up of this.#parents) up.app.#checkAccess(method, joinPath(up.prefix, path), here);
  }

  /** This app and every app it is mounted in, each with the prefix that leads from it to here. */
  #lineage(
    prefix: string,
    out: { app: App<Variables>; prefix: string }[] = [],
  ): { app: App<Variables>; prefix: string }[] {
    out.push({ app: this as unknown as App<Variables>, prefix });
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
    // A Request's url is serialized: its query is the first "?" after the path's start.
    const pathAt = serializedPathStart(url);
    const queryAt = pathAt === -1 ? -1 : url.indexOf('?', pathAt);
    const path = pathAt === -1 ? '/' : queryAt === -1 ? url.slice(pathAt) : url.slice(pathAt, queryAt);
    const method = request.method;
    let found = table.find(method, path);
    // RFC 9110 §9.3.2: a GET route answers HEAD (the gateway sends no body) unless HEAD has its own.
    if (found === null && method === 'HEAD') found = table.find('GET', path);
    const serveInfo = info ?? testInfo();
    if (found !== null && found !== MALFORMED) {
      // For the server's access log and metrics; only where the server defines the slot.
      if ('route' in serveInfo) serveInfo.route = found.value.path;
      const c = new Context(request, serveInfo, url, queryAt, found.params, found.value.path, this.#shared);
      return this.#run(c, found.value.chain);
    }
    const c = new Context(request, serveInfo, url, queryAt, undefined, undefined, this.#shared);
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
      if (!(out instanceof Promise)) return this.#finalize(c, out);
    } catch (err) {
      return this.#answerError(err, c);
    }
    return out.then(
      (r) => this.#finalize(c, r),
      (err: unknown) => this.#answerError(err, c),
    );
  }

  /** `c.finalize`, with a failure (a Response whose headers getter throws) answered as an error. */
  #finalize(c: Context, r: Response): Response | Promise<Response> {
    try {
      return c.finalize(r);
    } catch (err) {
      return this.#answerError(err, c);
    }
  }

  /**
   * The error answer, finalized. Containment: never throws and never rejects, whatever was
   * thrown (the error, the onError handler's answer, the logger): a throw here would leave the
   * request unanswered in-process and, on a server, take the error path of the gateway.
   */
  #answerError(error: unknown, c: Context): Response | Promise<Response> {
    const answer = this.#handleError(error, c);
    return answer instanceof Promise ? answer.then((r) => finalizeLast(c, r)) : finalizeLast(c, answer);
  }

  #handleError(error: unknown, c: Context): Response | Promise<Response> {
    const dev = this.#settings.dev;
    const log = this.#settings.log;
    if (log !== undefined) {
      try {
        log(errorStatus(error) >= 500 ? 'error' : 'debug', error, c);
      } catch {
        // A logger that fails must not turn an error answer into a crash; there is no other
        // logger to report it to.
      }
    }
    const handler = this.#onError;
    if (handler !== undefined) {
      try {
        const out = handler(error, c as Context<string, V>);
        if (out instanceof Promise) {
          return out.then(
            (value): Response => (isResponse(value) ? (value as Response) : renderError(error, c, dev)),
            (second: unknown) => renderError(second, c, dev),
          );
        }
        if (isResponse(out)) return out as Response;
      } catch (second) {
        return renderError(second, c, dev);
      }
    }
    return renderError(error, c, dev);
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
        // The Location is built from the client's path: it must stay a path on this origin.
        if (!isSameOriginPath(other)) return unsafeRedirect;
        return (c: Context) => {
          return new Response(null, {
            status: 308,
            headers: { location: other + searchOf(c.req.url) },
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

  /**
   * Every route this app answers, its mounts' included: the method, the full path, and the
   * functions of its chain in order (app-wide and prefix middleware, then the route's own). For
   * tools that describe an app, such as the OpenAPI generator; computed on each call.
   */
  routes(): RouteEntry[] {
    return this.#flatten('', []);
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
   * the broker of strata's server, once `serve()` has attached it). Before that, and under
   * `app.request()`, it goes to the app's in-memory hub: the listeners of `app.subscribe()`.
   *
   * @example
   * app.post('/announce', async (c) => { app.publish('lobby', await c.req.text()); return c.empty(); });
   */
  publish(topic: string, data: WebSocketData, compress?: boolean): void {
    const pubsub = pubsubs.get(this);
    if (pubsub !== undefined) pubsub.publish(topic, data, compress);
    else localHub(this).publish(topic, data, compress);
  }

  /**
   * How many sockets in this process are subscribed to `topic`; with no server attached, how many
   * `app.subscribe()` listeners are.
   */
  subscriberCount(topic: string): number {
    const pubsub = pubsubs.get(this);
    if (pubsub !== undefined) return pubsub.subscriberCount(topic);
    return localHubs.get(rootOf(this))?.subscriberCount(topic) ?? 0;
  }

  /**
   * Listens, in-process, to what `app.publish(topic, …)` sends while no server is attached: for
   * tests under `app.request()`. Returns the function that stops listening. Shared with the apps
   * mounted with `route()`. On a running server, use a WebSocket client (see `strata-stack/testing`).
   *
   * @example
   * const seen: string[] = [];
   * const stop = app.subscribe('lobby', (data) => seen.push(String(data)));
   * await app.request('/announce', { method: 'POST', body: 'hi' });
   * assert.deepEqual(seen, ['hi']);
   * stop();
   */
  subscribe(topic: string, listener: PublishListener): () => void {
    return localHub(this).subscribe(topic, listener);
  }

  /** The gateway contract: the server hands over its publish/subscribe hub (and takes it back). */
  attachPubSub(pubsub: PubSub | undefined): void {
    if (pubsub === undefined) pubsubs.delete(this);
    else pubsubs.set(this, pubsub);
    for (const mount of this.#mounts) mount.app.attachPubSub(pubsub);
  }

  /**
   * The gateway contract: the operator asked for development mode (`strata serve --dev`), so
   * error responses show the stack, as `new App({ dev: true })` does. Mounted apps follow.
   */
  setDevMode(on: boolean): void {
    this.#settings.dev = on;
    for (const mount of this.#mounts) mount.app.setDevMode(on);
  }
}

// Kept beside the app rather than in it: only apps that publish pay for the slot.
const pubsubs = new WeakMap<object, PubSub>();
// Without a server: one in-memory hub per root app, found through the mounts' parents.
const localHubs = new WeakMap<object, LocalPubSub>();
const parents = new WeakMap<object, object>();

function rootOf(app: object): object {
  let root = app;
  for (let parent = parents.get(root); parent !== undefined; parent = parents.get(root)) root = parent;
  return root;
}

/** `parent.route(prefix, child)`: the child publishes to, and listens on, the root's hub from now on. */
function mountHub(parent: object, child: object): void {
  const root = rootOf(parent);
  if (child === root) return; // a cycle: no hub to join
  parents.set(child, parent);
  const own = localHubs.get(child);
  if (own === undefined) return;
  localHubs.delete(child);
  const hub = localHubs.get(root);
  if (hub === undefined) localHubs.set(root, own);
  else hub.adopt(own);
}

function localHub(app: object): LocalPubSub {
  const root = rootOf(app);
  let hub = localHubs.get(root);
  if (hub === undefined) {
    hub = new LocalPubSub();
    localHubs.set(root, hub);
  }
  return hub;
}

/** The default `log`: 5xx errors to a pino logger on stdout, created on the first error. */
function defaultErrorLog(): (level: 'error' | 'debug', error: unknown, c: Context) => void {
  let logger: Logger | undefined;
  return (level, error, c) => {
    if (level !== 'error') return;
    logger ??= createLogger();
    const url = c.req.url;
    const requestId = c.get('requestId');
    logger.error(
      {
        // A plain copy: pino's serializer writes into the error and reads its getters.
        err: loggableError(error),
        method: c.req.method,
        path: pathOf(url) + searchOf(url),
        route: c.routePath,
        requestId: typeof requestId === 'string' ? requestId : undefined,
      },
      'request failed',
    );
  };
}

/**
 * Whether `path` can be sent as a `Location` that a browser resolves to this origin: one leading
 * "/" not followed by "/" or a backslash (`//evil.com` and `/\evil.com` are network-path
 * references: browsers read a backslash as "/"), and no backslash, space, control character or
 * DEL anywhere (URL parsers drop tabs and newlines, so `/<TAB>/evil.com` becomes `//evil.com`).
 * Percent-encoded forms (`/%2f%2fevil.com`, `/%5cevil.com`) stay paths: browsers do not decode
 * them when resolving a reference.
 */
function isSameOriginPath(path: string): boolean {
  if (path.charCodeAt(0) !== 47) return false;
  const second = path.charCodeAt(1);
  if (second === 47 || second === 92) return false;
  for (let i = 1; i < path.length; i++) {
    const code = path.charCodeAt(i);
    if (code <= 32 || code === 92 || code === 127) return false;
  }
  return true;
}

function unsafeRedirect(): never {
  throw new HttpError(400, 'The request path cannot be redirected to its other trailing-slash form');
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

/** `value instanceof Response`, false when a Proxy trap throws. */
function isResponse(value: unknown): boolean {
  try {
    return value instanceof Response;
  } catch {
    return false;
  }
}

/** The last step of an error answer: pending headers applied, or the bare answer if that fails. */
function finalizeLast(c: Context, r: Response): Response {
  try {
    return c.finalize(r);
  } catch (err) {
    // The onError handler's Response could not take the pending headers: the default answer.
    return renderError(err, c, false);
  }
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
