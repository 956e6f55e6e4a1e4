import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type } from 'arktype';
import * as v from 'valibot';
import { z } from 'zod';
import { App, validate } from '../../src/app/index.ts';

const schemas = {
  zod: {
    body: z.object({ name: z.string().min(1), age: z.number().int().nonnegative() }),
    query: z.object({ page: z.coerce.number().int().positive() }),
  },
  valibot: {
    body: v.object({
      name: v.pipe(v.string(), v.minLength(1)),
      age: v.pipe(v.number(), v.integer(), v.minValue(0)),
    }),
    query: v.object({ page: v.pipe(v.string(), v.transform(Number), v.integer(), v.minValue(1)) }),
  },
  arktype: {
    body: type({ name: 'string > 0', age: 'number.integer >= 0' }),
    query: type({ page: 'string.integer.parse' })
      .pipe((q) => ({ page: q.page }))
      .narrow((q) => q.page > 0),
  },
};

for (const [library, s] of Object.entries(schemas)) {
  describe(`validate() with ${library}, no adapter`, () => {
    const app = new App();
    app.post('/users', validate({ body: s.body, query: s.query }), (c) =>
      c.json({ body: c.body, query: c.valid.query }, 201),
    );

    test('valid input reaches the handler, parsed and typed', async () => {
      const res = await app.request('/users?page=2', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'ada', age: 36 }),
      });
      assert.equal(res.status, 201, await res.clone().text());
      assert.deepEqual(await res.json(), { body: { name: 'ada', age: 36 }, query: { page: 2 } });
    });

    test('every failing part is reported at once as problem+json with paths', async () => {
      const res = await app.request('/users?page=0', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: '', age: -1.5 }),
      });
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      const problem = await res.json();
      assert.equal(problem.status, 400);
      const where = new Set(problem.issues.map((i: { in: string; path: string }) => `${i.in}:${i.path}`));
      assert.ok(where.has('body:name'), JSON.stringify(problem.issues));
      assert.ok(where.has('body:age'), JSON.stringify(problem.issues));
      assert.ok(
        [...where].some((w) => (w as string).startsWith('query:')),
        JSON.stringify(problem.issues),
      );
      for (const issue of problem.issues) assert.equal(typeof issue.message, 'string');
    });
  });
}

describe('validate() edges', () => {
  const app = new App();
  app.post('/x', validate({ body: z.object({ a: z.string() }) }), (c) => c.json(c.body));
  app.get(
    '/h/:id',
    validate({
      params: z.object({ id: z.string().regex(/^[0-9]+$/) }),
      headers: z.object({ 'x-key': z.string() }),
    }),
    (c) => c.json({ id: c.valid.params.id, key: c.valid.headers['x-key'] }),
  );
  app.get('/c', validate({ cookies: z.object({ session: z.string() }) }), (c) =>
    c.text(c.valid.cookies.session),
  );

  test('a smuggled media type never reaches the validator', async () => {
    const res = await app.request('/x', {
      method: 'POST',
      headers: { 'content-type': 'application/json\t' },
      body: '{"a":"1"}',
    });
    assert.ok(res.status === 415 || res.status === 200, String(res.status));
    const tab = await app.request('/x', {
      method: 'POST',
      headers: { 'content-type': 'application/json\tx' },
      body: '{"a":"1"}',
    });
    assert.equal(tab.status, 415);
  });

  test('a body that is not JSON fails validation rather than passing as text', async () => {
    const res = await app.request('/x', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"a":"1"}',
    });
    assert.equal(res.status, 400);
  });

  test('params, headers and cookies', async () => {
    assert.deepEqual(await (await app.request('/h/12', { headers: { 'x-key': 'k' } })).json(), {
      id: '12',
      key: 'k',
    });
    assert.equal((await app.request('/h/ab', { headers: { 'x-key': 'k' } })).status, 400);
    assert.equal((await app.request('/h/12')).status, 400);
    assert.equal(await (await app.request('/c', { headers: { cookie: 'session=s1' } })).text(), 's1');
    assert.equal((await app.request('/c')).status, 400);
  });

  test('response validation in dev turns a wrong answer into a 500 naming the issue', async () => {
    const dev = new App();
    dev.get('/r', validate({ response: z.object({ ok: z.boolean() }) }, { dev: true }), (c) =>
      c.json({ ok: 'yes' }),
    );
    const res = await dev.request('/r');
    assert.equal(res.status, 500);
    const problem = await res.json();
    assert.equal(problem.issues[0].in, 'response');
    assert.equal(problem.issues[0].path, 'ok');
  });
});
