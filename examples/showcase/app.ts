/**
 * The strata showcase: what `npm start` runs. A page, a JSON API on the framework (routing,
 * validation, middleware, problem+json errors); later issues grow it into the full demonstration.
 */
import { z } from 'zod';
import { App, cors, HttpError, requestId, serverTiming, validate } from '../../src/index.ts';
import { ThreadPool } from '../../src/parallel/index.ts';
import { addChat } from './chat.ts';
import { page } from './page.ts';
import countPrimes from './primes.ts';

const startedAt = new Date();

const Greeting = z.object({ name: z.string().trim().min(1).max(60) });

const Primes = z.object({ limit: z.coerce.number().int().min(2).max(5_000_000) });

// CPU work goes to worker threads so that it never stalls the event loop (docs/parallel.md).
const pool = new ThreadPool({ name: 'showcase' });
const PRIMES_TASK = new URL('./primes.ts', import.meta.url);

const app = new App();
app.onShutdown(() => pool.close());
app.use(requestId());
app.use(cors());
app.use(serverTiming());

app.get('/', (c) => c.html(page));

app.get('/api/status', (c) =>
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

app.get('/api/hello/:name', (c) => c.json({ greeting: `Hello, ${c.params.name}!` }));

app.post('/api/greetings', validate({ body: Greeting }), (c) =>
  c.json({ greeting: `Hello, ${c.body.name}!` }, 201),
);

// The same CPU-heavy work twice: on the pool (the loop stays free; cancelled if the client leaves)
// and inline (every other request waits for it) — `npm run bench -- parallel` compares the two.
app.get('/api/primes', validate({ query: Primes }), async (c) =>
  c.json(await pool.run(PRIMES_TASK, c.valid.query.limit, { signal: c.req.signal })),
);
app.get('/api/primes-inline', validate({ query: Primes }), (c) => c.json(countPrimes(c.valid.query.limit)));

// Live: a chat room over WebSockets and a clock over server-sent events (docs/realtime.md).
addChat(app);

app.get('/api/fail', () => {
  throw new HttpError(503, 'This endpoint fails on purpose, to show a problem+json answer', {
    headers: { 'retry-after': '1' },
    expose: true,
  });
});

export default app;
