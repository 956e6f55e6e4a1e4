/**
 * The strata showcase: what `npm start` runs. A page, a JSON API on the framework (routing,
 * validation, middleware, problem+json errors); later issues grow it into the full demonstration.
 */
import { z } from 'zod';
import { App, cors, HttpError, requestId, serverTiming, validate } from '../../src/index.ts';
import { page } from './page.ts';

const startedAt = new Date();

const Greeting = z.object({ name: z.string().trim().min(1).max(60) });

const app = new App();
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

app.get('/api/fail', () => {
  throw new HttpError(503, 'This endpoint fails on purpose, to show a problem+json answer', {
    headers: { 'retry-after': '1' },
    expose: true,
  });
});

export default app;
