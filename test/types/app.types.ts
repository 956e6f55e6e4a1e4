/**
 * Type tests: this file must type-check (npm test runs tsc over it), and every line marked
 * `@ts-expect-error` must be an error — if inference breaks, tsc reports the unused directive.
 * It is never executed.
 */
import { z } from 'zod';
import { App, type PathParams, validate } from '../../src/app/index.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_: T): void {}

expectType<Equal<PathParams<'/users/:id'>, { id: string }>>(true);
expectType<
  Equal<PathParams<'/repos/:owner/:repo/issues/:number'>, { owner: string; repo: string; number: string }>
>(true);
expectType<Equal<PathParams<'/posts/:id?'>, { id?: string }>>(true);
expectType<Equal<PathParams<'/users/:id{[0-9]+}'>, { id: string }>>(true);
expectType<Equal<PathParams<'/files/*'>, { '*': string }>>(true);
expectType<Equal<PathParams<'/static'>, {}>>(true);

const app = new App<{ user: { id: number } }>();

app.get('/users/:id/posts/:post', (c) => {
  const id: string = c.params.id;
  const post: string = c.params.post;
  expectType<Equal<typeof c.params, { id: string; post: string }>>(true);
  // @ts-expect-error -- no such param in the path
  c.params.nope;
  return c.json({ id, post });
});

app.use(async (c, next) => {
  c.set('user', { id: 1 });
  // @ts-expect-error -- the variable's type is declared on the app
  c.set('user', { id: 'one' });
  // @ts-expect-error -- undeclared variable
  c.set('other', 1);
  await next();
});

app.get('/me', (c) => {
  const id: number = c.get('user').id;
  return c.json({ id });
});

const User = z.object({ name: z.string(), age: z.number() });
app.post('/users', validate({ body: User, query: z.object({ dry: z.enum(['yes', 'no']) }) }), (c) => {
  const name: string = c.body.name;
  const age: number = c.body.age;
  const dry: 'yes' | 'no' = c.valid.query.dry;
  expectType<Equal<typeof c.body, { name: string; age: number }>>(true);
  expectType<Equal<typeof c.params, {}>>(true);
  // @ts-expect-error -- not in the schema
  c.body.email;
  // @ts-expect-error -- age is a number
  const wrong: string = c.body.age;
  return c.json({ name, age, dry, wrong });
});

app.get(
  '/two/:id',
  validate({ headers: z.object({ 'x-key': z.string() }) }),
  validate({ cookies: z.object({ s: z.string() }) }),
  (c) => {
    const key: string = c.valid.headers['x-key'];
    const s: string = c.valid.cookies.s;
    const id: string = c.params.id;
    return c.json({ key, s, id });
  },
);
