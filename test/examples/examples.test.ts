import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import todoApp from '../../examples/app/app.ts';
import { app, options } from '../../examples/behind-nginx/app.ts';
import { serve } from '../../src/server.ts';

// The showcase's SQLite file: one in memory for this process, not the repository's data/showcase.db
// (set before the app is imported: it opens the database as it loads).
process.env.SHOWCASE_DATA = ':memory:';
const { default: showcase } = await import('../../examples/showcase/app.ts');

describe('the showcase (what npm start serves)', () => {
  test('serves its page and a JSON status', async () => {
    const page = await showcase.request('/');
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<h1>strata<\/h1>/);
    const status = await showcase.request('/api/status');
    const body = await status.json();
    assert.equal(body.name, 'strata showcase');
    assert.equal(body.requestId, status.headers.get('x-request-id'));
  });

  test('validates greetings and answers problem+json on bad input', async () => {
    const ok = await showcase.request('/api/greetings', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: ' Ada ' }),
    });
    assert.equal(ok.status, 201);
    assert.deepEqual(await ok.json(), { greeting: 'Hello, Ada!' });
    const bad = await showcase.request('/api/greetings', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: '' }),
    });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).issues[0].path, 'name');
    const fail = await showcase.request('/api/fail');
    assert.equal(fail.status, 503);
    assert.equal(fail.headers.get('retry-after'), '1');
  });
});

describe('the showcase guestbook (SQLite)', () => {
  const post = (body: unknown) =>
    showcase.request('/api/notes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  test('a note is validated, stored, listed newest first and found by its Location', async () => {
    const first = await post({ author: ' Ada ', text: 'first note' });
    assert.equal(first.status, 201);
    const note = await first.json();
    assert.equal(note.author, 'Ada', 'trimmed by the schema');
    assert.equal(first.headers.get('location'), `/api/notes/${note.id}`);
    assert.ok(Math.abs(Date.parse(note.createdAt) - Date.now()) < 60_000);
    const second = await (await post({ author: 'Grace', text: 'second <b>note</b>' })).json();
    assert.equal(second.id, note.id + 1);

    const list = await (await showcase.request('/api/notes')).json();
    assert.deepEqual(
      list.notes.slice(0, 2).map((n: { text: string }) => n.text),
      ['second <b>note</b>', 'first note'],
    );
    assert.deepEqual(await (await showcase.request(`/api/notes/${note.id}`)).json(), note);
    assert.equal((await (await showcase.request('/api/notes?limit=1')).json()).notes.length, 1);

    const missing = await showcase.request('/api/notes/999999');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('content-type'), 'application/problem+json');
    assert.equal((await showcase.request('/api/notes/abc')).status, 400);
    assert.equal((await showcase.request('/api/notes?limit=1000')).status, 400);
  });

  test('a bad note is 400 problem+json naming the field, and nothing is stored', async () => {
    const before = (await (await showcase.request('/api/notes?limit=100')).json()).notes.length;
    for (const [body, field] of [
      [{ author: 'Ada', text: '   ' }, 'text'],
      [{ author: '', text: 'hi' }, 'author'],
      [{ author: 'Ada', text: 'x'.repeat(281) }, 'text'],
      [{ text: 'no author' }, 'author'],
    ] as const) {
      const res = await post(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal((await res.json()).issues[0].path, field);
    }
    const after = (await (await showcase.request('/api/notes?limit=100')).json()).notes.length;
    assert.equal(after, before);
  });
});

describe('examples/app', () => {
  test('CRUD over todos with validation and 404s', async () => {
    const created = await todoApp.request('/todos', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'write tests' }),
    });
    assert.equal(created.status, 201);
    const todo = await created.json();
    assert.equal(created.headers.get('location'), `/todos/${todo.id}`);
    const patched = await todoApp.request(`/todos/${todo.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ done: true }),
    });
    assert.equal((await patched.json()).done, true);
    assert.equal((await todoApp.request('/todos?done=true')).status, 200);
    assert.equal((await todoApp.request(`/todos/${todo.id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await todoApp.request(`/todos/${todo.id}`)).status, 404);
    assert.equal((await todoApp.request('/todos/abc')).status, 400);
  });

  test('signed visit counter', async () => {
    const first = await todoApp.request('/visit', { method: 'POST' });
    const cookie = first.headers.getSetCookie()[0]!.split(';')[0]!;
    const second = await todoApp.request('/visit', { method: 'POST', headers: { cookie } });
    assert.deepEqual(await second.json(), { visits: 2 });
  });
});

describe('the showcase thread pool', () => {
  test('primes are counted on the pool and inline alike, and the pool closes on shutdown', async () => {
    const pooled = await showcase.request('/api/primes?limit=1000');
    assert.equal(pooled.status, 200);
    assert.deepEqual(await pooled.json(), { limit: 1000, primes: 168 });
    const inline = await showcase.request('/api/primes-inline?limit=1000');
    assert.deepEqual(await inline.json(), { limit: 1000, primes: 168 });
    const bad = await showcase.request('/api/primes?limit=99999999999');
    assert.equal(bad.status, 400);
    await showcase.shutdown();
    const closed = await showcase.request('/api/primes?limit=10');
    assert.equal(closed.status, 503, 'after shutdown the pool refuses work with 503');
  });
});

describe('examples/behind-nginx', () => {
  test('believes the trusted proxy (127.0.0.1) for the client, the scheme and the request id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-example-'));
    const log = join(dir, 'access.log');
    const server = await serve(app, { ...options, port: 0, logger: false, accessLog: { destination: log } });
    try {
      // This test plays nginx: it connects from 127.0.0.1 and sets what nginx would.
      const res = await fetch(server.url, {
        headers: {
          'x-forwarded-for': '203.0.113.7',
          'x-forwarded-proto': 'https',
          'x-request-id': '0123456789abcdef0123456789abcdef',
        },
      });
      assert.deepEqual(await res.json(), {
        client: '203.0.113.7',
        secure: true,
        url: `https://127.0.0.1:${server.port}/`,
        requestId: '0123456789abcdef0123456789abcdef',
      });
      await server.close();
      assert.match(
        readFileSync(log, 'utf8'),
        /^203\.0\.113\.7 - - \[.+\] "GET \/ HTTP\/1\.1" 200 .* "0123456789abcdef0123456789abcdef"\n$/,
      );
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
