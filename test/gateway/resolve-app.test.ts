import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GatewayError, nodeHandler, resolveApp, type ServeInfo } from '../../src/gateway/index.ts';
import { serve } from '../../src/server/index.ts';
import { waitFor } from '../fixtures/http.ts';

describe('resolveApp decides how a value is served', () => {
  const express = Object.assign((_req: unknown, _res: unknown, _next: unknown) => {}, {
    handle() {},
    use() {},
  });
  const koa = { callback: () => (_req: unknown, _res: unknown) => {} };
  const cases: [string, unknown, 'fetch' | 'node'][] = [
    ['an object with fetch', { fetch: () => new Response() }, 'fetch'],
    ['a one-argument function', (_r: Request) => new Response(), 'fetch'],
    ['a two-argument function', (_r: Request, _i: unknown) => new Response(), 'fetch'],
    ['an Express-like app', express, 'node'],
    ['a three-argument function', (_a: unknown, _b: unknown, _c: unknown) => {}, 'node'],
    ['a nodeHandler()-marked function', nodeHandler((_req, _res) => {}), 'node'],
    ['a Koa-like app', koa, 'node'],
  ];
  for (const [name, value, kind] of cases) {
    test(`${name} is served as ${kind}`, () => {
      assert.equal(resolveApp(value).kind, kind);
    });
  }

  const bad: [string, unknown, RegExp][] = [
    ['null', null, /exports null/],
    ['undefined', undefined, /undefined \(is there an `export default`\?\)/],
    ['a number', 42, /exports number/],
    ['an object without fetch', { get: 1, post: 2 }, /an object with keys \[get, post\]/],
  ];
  for (const [name, value, message] of bad) {
    test(`${name} is refused with STRATA_ERR_BAD_APP`, () => {
      assert.throws(
        () => resolveApp(value, 'app.ts'),
        (err: unknown) => {
          assert.ok(err instanceof GatewayError);
          assert.equal(err.code, 'STRATA_ERR_BAD_APP');
          assert.match(err.message, /^app\.ts /);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }
});

describe('info', () => {
  test('remote, protocol and secure describe the connection', async () => {
    const server = await serve(
      (_request: Request, info: ServeInfo) =>
        Response.json({
          address: info.remote.address,
          port: info.remote.port,
          protocol: info.protocol,
          secure: info.secure,
        }),
      { port: 0, logger: false },
    );
    try {
      const seen = await (await fetch(server.url)).json();
      assert.equal(seen.address, '127.0.0.1');
      assert.ok(seen.port > 0);
      assert.equal(seen.protocol, 'http/1.1');
      assert.equal(seen.secure, false);
    } finally {
      await server.close();
    }
  });

  test('waitUntil work outlives the response and is awaited by close(); a rejection is contained', async () => {
    let finished = false;
    const server = await serve(
      (_request: Request, info: ServeInfo) => {
        info.waitUntil(new Promise((r) => setTimeout(r, 200)).then(() => (finished = true)));
        info.waitUntil(Promise.reject(new Error('background failure')));
        return new Response('sent first');
      },
      { port: 0, logger: false },
    );
    assert.equal(await (await fetch(server.url)).text(), 'sent first');
    assert.equal(finished, false, 'the response did not wait for the work');
    await server.close();
    assert.equal(finished, true, 'close() waited for it');
    await waitFor(() => true);
  });
});
