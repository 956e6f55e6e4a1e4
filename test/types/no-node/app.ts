/**
 * A small app as a user without @types/node writes it. test/types/no-node.test.ts type-checks it
 * against the emitted declarations of src/ with `types: []`; the repo's own tsc checks it too.
 */
import { App, createMiddleware, HttpError, requestId, validate } from '../../../src/index.ts';

interface User {
  id: number;
  name: string;
}

const auth = createMiddleware<{ user: User }>(async (c, next) => {
  if (c.req.headers.get('authorization') !== 'Bearer t') throw new HttpError(401, 'Sign in first');
  c.set('user', { id: 1, name: 'ada' });
  await next();
});

const app = new App({ trailingSlash: 'redirect' }).use(requestId());

app.get('/users/:id', (c) => c.json({ id: c.params.id, request: c.get('requestId') ?? null }));
app.get('/me', auth, (c) => c.json(c.get('user')));
app.post(
  '/echo',
  validate({ body: { '~standard': { version: 1, vendor: 'x', validate: (v: unknown) => ({ value: v }) } } }),
  async (c) => c.text(await c.req.text()),
);
app.get('/chat/:room', (c) =>
  c.upgrade<{ room: string }>(
    {
      open(ws) {
        ws.subscribe(ws.data.room);
      },
      message(ws, data) {
        ws.publish(ws.data.room, data);
      },
    },
    { data: { room: c.params.room } },
  ),
);
app.post('/announce', async (c) => {
  app.publish('lobby', await c.req.text());
  return c.empty();
});
app.get('/ticks', (c) =>
  c.sse(async (stream) => {
    await stream.send({ data: 'tick' });
  }),
);

export default app;
