import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App } from '../../src/app/index.ts';

describe('c.set / c.get', () => {
  test('the first value, later ones, overwrites of each, and keys that are not set', async () => {
    const app = new App<Record<string, unknown>>();
    app.use((c, next) => {
      c.set('requestId', 'r1');
      c.set('user', { id: 1 });
      c.set('__proto__', 'not a prototype');
      c.set('requestId', 'r2');
      c.set('user', { id: 2 });
      c.set('constructor', 0);
      return next();
    });
    app.get('/', (c) =>
      c.json({
        requestId: c.get('requestId'),
        user: c.get('user'),
        proto: c.get('__proto__'),
        ctor: c.get('constructor'),
        missing: c.get('missing') ?? null,
        toString: typeof c.get('toString'),
      }),
    );
    const body = await (await app.request('/')).json();
    assert.deepEqual(body, {
      requestId: 'r2',
      user: { id: 2 },
      proto: 'not a prototype',
      ctor: 0,
      missing: null,
      toString: 'undefined',
    });
  });

  test('a request sees none of the values of another', async () => {
    const app = new App<Record<string, unknown>>();
    app.get('/set', (c) => {
      c.set('a', 1);
      return c.json({ a: c.get('a') });
    });
    app.get('/read', (c) => c.json({ a: c.get('a') ?? null }));
    assert.deepEqual(await (await app.request('/set')).json(), { a: 1 });
    assert.deepEqual(await (await app.request('/read')).json(), { a: null });
  });
});
