/**
 * Type tests for the slips the types catch: handlers that can return nothing, undeclared
 * variables, and typed middleware (`createMiddleware<Vars>()`). This file must type-check
 * (`npx tsc -p tsconfig.json --noEmit`), and every `@ts-expect-error` line must be an error — if
 * a type loosens, tsc reports the unused directive. It is never executed.
 */
import {
  App,
  type Context,
  createMiddleware,
  HttpError,
  type Middleware,
  requestId,
} from '../../src/index.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_: T): void {}

declare const maybe: boolean;
interface User {
  id: number;
  name: string;
}
declare const user: User;

// ---- handlers must answer on every path --------------------------------------------------

const app = new App();

// @ts-expect-error -- falls off the end when `maybe` is false
app.get('/a', (c) => {
  if (maybe) return c.json(1);
});
// @ts-expect-error -- async, same slip: Promise<Response | undefined>
app.get('/b', async (c) => {
  if (maybe) return c.json(1);
});
// @ts-expect-error -- builds a response and forgets to return it
app.get('/c', (c) => {
  c.json(1);
});
// @ts-expect-error -- the same, async
app.get('/d', async (c) => {
  c.text('x');
});
// @ts-expect-error -- an explicit undefined
app.get('/e', () => undefined);
const pass: Middleware = (_c, next) => next();
// @ts-expect-error -- also after middleware
app.get('/f', pass, (c) => (maybe ? c.text('x') : undefined));
// @ts-expect-error -- notFound is a handler too
app.notFound((c) => {
  if (maybe) return c.text('gone', 404);
});

// What a handler may return: a Response, or a value turned into one.
app.get('/ok/response', (c) => c.json({ a: 1 }));
app.get('/ok/async', async (c) => c.text(await c.req.text()));
app.get('/ok/string', () => 'text');
app.get('/ok/number', () => 42);
app.get('/ok/null', () => null);
app.get('/ok/array', () => [1, 2]);
app.get('/ok/interface', () => user);
app.get('/ok/async-interface', async () => user);
app.get('/ok/promise', () => Promise.resolve(new Response('x')));
app.get('/ok/throws', () => {
  throw new HttpError(404, 'no');
});
app.get('/ok/branches', (c) => {
  if (maybe) return c.json(1);
  return c.empty();
});

// Middleware legitimately returns nothing after `await next()`, or answers in place of the rest.
app.use(async (_c, next) => {
  await next();
});
app.use((c, next) => {
  c.header('x-a', '1');
  return next();
});
app.use(async (c, next) => {
  if (maybe) return c.json({ error: 'no' }, 403);
  await next();
});
app.use('/admin', async (c, next) => {
  await next();
  c.header('x-admin', '1');
});
app.onError((err, c) => {
  if (err instanceof HttpError) return c.json({ status: err.status }, err.status);
});

// ---- variables: only declared keys -------------------------------------------------------

// An app that declares none: any key is a typo, except the built-in requestId.
app.get('/vars', (c) => {
  // @ts-expect-error -- 'user' is not declared
  c.get('user');
  // @ts-expect-error -- nor can it be set
  c.set('user', user);
  expectType<Equal<ReturnType<typeof c.get<'requestId'>>, string | undefined>>(true);
  return c.text(c.get('requestId') ?? '-');
});
app.use((c, next) => {
  // @ts-expect-error -- undeclared in middleware too
  c.set('tenant', 't');
  return next();
});
// @ts-expect-error -- a plain middleware declares nothing for the handler after it
app.get('/vars/plain', pass, (c) => c.json(c.get('user')));

// Declared on the app (an interface works as well as a type literal).
interface Vars {
  user: User;
}
const declared = new App<Vars>();
declared.use(async (c, next) => {
  c.set('user', user);
  // @ts-expect-error -- wrong type for a declared key
  c.set('user', { id: 'one' });
  await next();
});
declared.get('/me', (c) => {
  expectType<Equal<ReturnType<typeof c.get<'user'>>, User>>(true);
  // @ts-expect-error -- still only declared keys
  c.get('usr');
  return c.json(c.get('user'));
});

// An app that wants any key says so.
const loose = new App<Record<string, unknown>>();
loose.get('/', (c) => c.json({ any: c.get('whatever') ?? null }));

// Plain middleware and functions typed with the default context fit every app.
const url = (c: Context) => c.req.url;
declared.use(pass);
declared.get('/url', (c) => url(c));
// Apps with different variables mount into each other.
app.route('/declared', declared);
declared.route('/plain', app);

// ---- createMiddleware<Vars>() ------------------------------------------------------------

const auth = createMiddleware<{ user: User }>(async (c, next) => {
  if (c.req.headers.get('authorization') === null) throw new HttpError(401, 'Sign in first');
  c.set('user', user);
  // @ts-expect-error -- the declared type is checked inside
  c.set('user', 1);
  // @ts-expect-error -- and only the declared keys
  c.set('other', 1);
  await next();
});
const tenant = createMiddleware<{ tenant: string }>((c, next) => {
  c.set('tenant', 'acme');
  return next();
});

// Given to a route: the handler sees its variables.
app.get('/me', auth, (c) => {
  expectType<Equal<ReturnType<typeof c.get<'user'>>, User>>(true);
  return c.json(c.get('user').name);
});
app.get('/me/tenant', auth, tenant, (c) => c.text(`${c.get('user').name}@${c.get('tenant')}`));
// @ts-expect-error -- a route without it does not
app.get('/me/not', (c) => c.json(c.get('user')));

// Used in a chain: every route of the app sees them.
const chained = new App().use(requestId(), auth, tenant).use(async (c, next) => {
  const name: string = c.get('user').name;
  c.header('x-user', name);
  await next();
});
chained.get('/', (c) => c.text(c.get('user').name + c.get('tenant')));
// @ts-expect-error -- still nothing undeclared
chained.get('/nope', (c) => c.json(c.get('nope')));

// Any app accepts typed middleware, with or without a prefix.
declared.use(auth);
declared.use('/admin', auth, tenant);
declared.use(tenant).get('/both', (c) => c.text(c.get('tenant') + c.get('user').name));
