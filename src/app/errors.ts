/**
 * The app layer's catalogue of programming errors (as opposed to `HttpError`, which is an
 * answer to the client). Each has a stable code and a message that says how to fix it.
 */
export class AppError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'AppError';
    this.code = code;
  }

  static nextTwice(method: string, route: string | undefined): AppError {
    return new AppError(
      'STRATA_ERR_NEXT_TWICE',
      `next() was called more than once by the same middleware (${method} ${route ?? '(no route)'}); call it once and await it`,
    );
  }

  static noResponse(method: string, route: string | undefined, why: string): AppError {
    return new AppError(
      'STRATA_ERR_NO_RESPONSE',
      `No response for ${method} ${route ?? '(no route)'}: ${why}; return a Response or a value (c.json(...), c.text(...))`,
    );
  }

  static endOfChain(method: string, route: string | undefined): AppError {
    return new AppError(
      'STRATA_ERR_NO_RESPONSE',
      `No response for ${method} ${route ?? '(no route)'}: next() was called by the last function of the chain; the last one must be a handler that returns a response`,
    );
  }

  static badHandler(method: string, path: string, index: number, value: unknown): AppError {
    return new AppError(
      'STRATA_ERR_BAD_HANDLER',
      `${method} ${path}: handler #${index + 1} is ${value === null ? 'null' : typeof value}, not a function`,
    );
  }

  static badCookieSecret(): AppError {
    return new AppError(
      'STRATA_ERR_COOKIE_SECRET',
      'Signed cookies need a secret of at least 32 characters: pass cookieSecrets to new App({ cookieSecrets: [secret] })',
    );
  }

  static corsCredentials(origin: string): AppError {
    return new AppError(
      'STRATA_ERR_CORS_CREDENTIALS',
      `cors({ credentials: true }) with origin ${JSON.stringify(origin)} would let every site read responses with the user's cookies: list the origins to trust (origin: ['https://app.example.com']) or pass a function that decides`,
    );
  }

  // ---- authentication and authorization (src/app/middleware/auth, authorize.ts, password.ts) ----

  /** An auth middleware (`jwt()`, `basicAuth()`, `bearer()`, `apiKey()`) was configured wrongly. */
  static authConfig(middleware: string, why: string): AppError {
    return new AppError('STRATA_ERR_AUTH_CONFIG', `${middleware}: ${why}`);
  }

  /** Deny-by-default: a route registered without an access rule. */
  static noAccessRule(method: string, path: string): AppError {
    return new AppError(
      'STRATA_ERR_NO_ACCESS_RULE',
      `${method} ${path}: this app denies by default (access: 'deny-by-default') and the route has no access rule; add an auth middleware or guard (jwt(), requireRole(), ...) to the route or to app.use() before it, or mark it publicRoute()`,
    );
  }

  /** `definePolicy()` twice for one name, or a permission naming no policy or action. */
  static policy(why: string): AppError {
    return new AppError('STRATA_ERR_POLICY', why);
  }

  /** `hashPassword()` given bad input or options, or a hash this runtime cannot verify. */
  static password(why: string): AppError {
    return new AppError('STRATA_ERR_PASSWORD', why);
  }

  static sessionSecret(where: string): AppError {
    return new AppError(
      'STRATA_ERR_COOKIE_SECRET',
      `${where} needs secrets of at least 32 characters each, newest first: pass session({ secrets: [secret] }) or new App({ cookieSecrets: [secret] })`,
    );
  }

  static sessionTooLarge(bytes: number, limit: number): AppError {
    return new AppError(
      'STRATA_ERR_SESSION_TOO_LARGE',
      `The cookie session is ${bytes} bytes once sealed, over the ${limit} a browser keeps: store less in it, or use a server-side store (new MemorySessionStore(), new RedisSessionStore(client))`,
    );
  }
}
