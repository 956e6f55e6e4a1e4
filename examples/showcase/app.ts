/**
 * The strata showcase: what `npm start` runs. A page, a JSON API on the framework (routing,
 * validation, middleware, problem+json errors), a login with sessions, CSRF protection and a
 * role-protected page, a rate-limited route, a live chat, a guestbook kept in SQLite, CPU work on
 * a thread pool, and the API's docs page. strata.config.ts serves it with the single-page app
 * (spa/) and the admin listener's dashboard.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import {
  App,
  cors,
  csrf,
  csrfToken,
  describeRoute,
  HttpError,
  openapi,
  rateLimit,
  requestId,
  secureHeaders,
  serverTiming,
  session,
  validate,
} from '../../src/index.ts';
import { ThreadPool } from '../../src/parallel/index.ts';
import { addChat } from './chat.ts';
import { openDatabase } from './db.ts';
import { addIdentity, currentUser, seedUsers } from './identity.ts';
import { addNotes } from './notes.ts';
import { homePage } from './page.ts';
import countPrimes from './primes.ts';
import { QUOTES } from './quotes.ts';
import { dashboardUrl } from './serving.ts';
import type { Vars, Visit } from './vars.ts';

const startedAt = new Date();

// Seals the session cookie and signs the CSRF state. Random per start unless given: a restart
// then signs everyone out, and each worker of `--workers` would have its own (set it there).
const secret = process.env.SHOWCASE_SECRET ?? randomBytes(32).toString('base64url');

const Greeting = z.object({ name: z.string().trim().min(1).max(60) });
const Primes = z.object({ limit: z.coerce.number().int().min(2).max(5_000_000) });
const PrimeCount = z.object({ limit: z.number().int(), primes: z.number().int() });
const Status = z.object({
  name: z.string(),
  startedAt: z.string(),
  uptimeSeconds: z.number().int(),
  node: z.string(),
  protocol: z.string(),
  client: z.string(),
  requestId: z.string(),
});
const Quote = z.object({ text: z.string(), author: z.string() });

// CPU work goes to worker threads so that it never stalls the event loop (docs/parallel.md).
const pool = new ThreadPool({ name: 'showcase' });
const PRIMES_TASK = new URL('./primes.ts', import.meta.url);

// data/showcase.db (or $SHOWCASE_DATA), created and migrated here; the users are signed up once.
const db = openDatabase();
await seedUsers(db);

const app = new App<Vars>({ cookieSecrets: [secret] });
app.onShutdown(async () => {
  await pool.close();
  if (db.isOpen) db.close();
});
app.use(requestId());
// Any origin may call the API (no cookies: credentials are not allowed cross-origin), and read
// the rate limit and the request id (not CORS-safelisted headers: exposed by name).
app.use(cors({ exposeHeaders: ['RateLimit', 'RateLimit-Policy', 'Retry-After', 'X-Request-Id'] }));
app.use(serverTiming());
// helmet's headers on every answer; the CSP allows inline scripts only with this response's nonce.
app.use(secureHeaders());
// The session is an encrypted cookie; `secure: 'auto'` makes it Secure over https only, so the
// demo also works on http://127.0.0.1 (in production behind https, leave the default `true`).
app.use(session<Visit>({ cookie: { secure: 'auto' } }));
app.use(currentUser);

// The home page has the logout form when someone is signed in: csrf() gives its token.
app.get('/', describeRoute({ hidden: true }), csrf({ token: 'session' }), (c) => {
  const user = c.get('user');
  const visitor = { user, csrf: user === undefined ? undefined : csrfToken(c) };
  return c.html(homePage(c.get('cspNonce'), visitor, { dashboard: dashboardUrl() }));
});

app.get(
  '/api/status',
  describeRoute({ summary: 'The server and this request', tags: ['basics'], responses: { 200: Status } }),
  (c) =>
    c.json({
      name: 'strata showcase',
      startedAt: startedAt.toISOString(),
      uptimeSeconds: Math.round(process.uptime()),
      node: process.version,
      protocol: c.info.protocol,
      client: c.info.remote.address,
      requestId: c.get('requestId'),
    }),
);

app.get(
  '/api/hello/:name',
  describeRoute({
    summary: 'A greeting from a path parameter',
    tags: ['basics'],
    responses: { 200: z.object({ greeting: z.string() }) },
  }),
  (c) => c.json({ greeting: `Hello, ${c.params.name}!` }),
);

app.post(
  '/api/greetings',
  describeRoute({
    summary: 'A greeting from a validated JSON body',
    description: 'An empty or too long name answers 400 problem+json with the issues.',
    tags: ['basics'],
    responses: { 201: z.object({ greeting: z.string() }) },
  }),
  validate({ body: Greeting }),
  (c) => c.json({ greeting: `Hello, ${c.body.name}!` }, 201),
);

// The same CPU-heavy work twice: on the pool (the loop stays free; cancelled if the client leaves)
// and inline (every other request waits for it) — `npm run bench -- parallel` compares the two.
app.get(
  '/api/primes',
  describeRoute({
    summary: 'Count primes on the thread pool',
    description: 'Trial division on a worker thread: the event loop stays free meanwhile.',
    tags: ['parallel'],
    responses: { 200: PrimeCount, 503: 'The pool is closed (the server is shutting down)' },
  }),
  validate({ query: Primes }),
  async (c) => c.json(await pool.run(PRIMES_TASK, c.valid.query.limit, { signal: c.req.signal })),
);
app.get(
  '/api/primes-inline',
  describeRoute({
    summary: 'Count primes on the event loop',
    description: 'The same work inline: every other request waits for it.',
    tags: ['parallel'],
    responses: { 200: PrimeCount },
  }),
  validate({ query: Primes }),
  (c) => c.json(countPrimes(c.valid.query.limit)),
);

// A burst of 5, then one every 2 s per client address; the 429 says when to come back.
app.get(
  '/api/quote',
  describeRoute({
    summary: 'A quote, rate-limited',
    description: 'A burst of 5 requests per client, then one every 2 s; past that 429 with `Retry-After`.',
    tags: ['rate limiting'],
    responses: {
      200: {
        description: 'A quote',
        schema: Quote,
        headers: { RateLimit: 'What is left: `"quote";r=4;t=2`' },
      },
      429: 'Over the limit: `Retry-After` says when to come back',
    },
  }),
  rateLimit({ limit: 5, window: '10s', name: 'quote' }),
  (c) => c.json(QUOTES[Math.floor(Math.random() * QUOTES.length)]!),
);

// Live: a chat room over WebSockets and a clock over server-sent events (docs/realtime.md).
addChat(app);

// Login, logout, the admin page and GET /api/me.
addIdentity(app, db);

// The guestbook: GET/POST /api/notes, in SQLite.
addNotes(app, db);

app.get(
  '/api/fail',
  describeRoute({
    summary: 'Fails on purpose',
    tags: ['basics'],
    responses: { 503: 'Always: an RFC 9457 problem+json answer with `Retry-After`' },
  }),
  () => {
    throw new HttpError(503, 'This endpoint fails on purpose, to show a problem+json answer', {
      headers: { 'retry-after': '1' },
      expose: true,
    });
  },
);

// GET /openapi.json (generated from the routes above at startup) and GET /docs (Swagger UI).
openapi(app, {
  info: {
    title: 'strata showcase API',
    version: '1.0.0',
    description: 'The JSON API of `npm start`, described from its routes, zod schemas and `describeRoute()`.',
  },
  docs: '/docs',
});

export default app;
