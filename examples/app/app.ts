/**
 * The framework in one file: routes with params, middleware, validation, cookies, errors.
 * Run it from the repository's root with `npx node src/cli/main.ts serve examples/app/app.ts`
 * (`npx node` is the Node 24 the repository pins; the machine's own `node` may be older).
 */
import { z } from 'zod';
import { App, cors, HttpError, requestId, serverTiming, validate } from '../../src/index.ts';

interface Todo {
  id: number;
  title: string;
  done: boolean;
}

const todos = new Map<number, Todo>([[1, { id: 1, title: 'Read docs/app.md', done: false }]]);
let nextId = 2;

const NewTodo = z.object({ title: z.string().min(1).max(200) });
const Patch = z.object({ title: z.string().min(1).max(200).optional(), done: z.boolean().optional() });
const Id = z.object({ id: z.coerce.number().int().positive() });

const app = new App({ cookieSecrets: ['example-secret-example-secret-0123456789'] });
app.use(requestId());
app.use(cors());
app.use(serverTiming());

app.get('/todos', (c) => {
  const done = c.query.done;
  const all = [...todos.values()];
  return c.json(done === undefined ? all : all.filter((t) => String(t.done) === done));
});

app.get('/todos/:id', validate({ params: Id }), (c) => {
  const todo = todos.get(c.valid.params.id);
  if (todo === undefined) throw new HttpError(404, `No todo ${c.valid.params.id}`);
  return c.json(todo);
});

app.post('/todos', validate({ body: NewTodo }), (c) => {
  const todo: Todo = { id: nextId++, title: c.body.title, done: false };
  todos.set(todo.id, todo);
  return c.header('location', `/todos/${todo.id}`).json(todo, 201);
});

app.patch('/todos/:id', validate({ params: Id, body: Patch }), (c) => {
  const todo = todos.get(c.valid.params.id);
  if (todo === undefined) throw new HttpError(404, `No todo ${c.valid.params.id}`);
  Object.assign(todo, c.body);
  return c.json(todo);
});

app.delete('/todos/:id', validate({ params: Id }), (c) => {
  if (!todos.delete(c.valid.params.id)) throw new HttpError(404, `No todo ${c.valid.params.id}`);
  return c.empty();
});

app.post('/visit', (c) => {
  const visits = Number(c.signedCookie('visits') ?? 0) + 1;
  c.setCookie('visits', String(visits), { signed: true, maxAge: 86_400 });
  return c.json({ visits });
});

export default app;
