/**
 * resolveApp: what a module's export is served as, and the error for anything else.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, test } from 'node:test';
import { GatewayError, nodeHandler, resolveApp } from '../../src/gateway/index.ts';
import { serve } from '../../src/server.ts';

type NodeFn = (req: IncomingMessage, res: ServerResponse) => void;

const nodeReply: NodeFn = (_req, res) => {
  res.setHeader('x-kind', 'node');
  res.end('node');
};

/** Express and Connect apps: a function with `handle` and `use`, whatever its declared arity. */
function expressLike(arity: 2 | 3): Function & { handle(): void; use(): void } {
  const app =
    arity === 3
      ? (req: IncomingMessage, res: ServerResponse, _next?: unknown) => nodeReply(req, res)
      : (req: IncomingMessage, res: ServerResponse) => nodeReply(req, res);
  return Object.assign(app, { handle() {}, use() {} });
}

/** Koa apps: an object whose `callback()` returns the node handler. */
const koaLike = { callback: () => nodeReply, use() {}, listen() {} };

const fetchReply = (): Response => new Response('fetch', { headers: { 'x-kind': 'fetch' } });

const kinds: [string, unknown, 'fetch' | 'node'][] = [
  ['an object with fetch', { fetch: fetchReply }, 'fetch'],
  ['an object with fetch and lifespan hooks', { fetch: fetchReply, startup() {}, shutdown() {} }, 'fetch'],
  [
    'an object with both fetch and callback (fetch wins)',
    { fetch: fetchReply, callback: () => nodeReply },
    'fetch',
  ],
  [
    'a class instance with a fetch method',
    new (class {
      fetch = fetchReply;
    })(),
    'fetch',
  ],
  ['a fetch function of no parameters', () => fetchReply(), 'fetch'],
  ['a fetch function of one parameter', (_request: Request) => fetchReply(), 'fetch'],
  ['a fetch function (request, info)', (_request: Request, _info: unknown) => fetchReply(), 'fetch'],
  ['an async fetch function', async (_request: Request) => fetchReply(), 'fetch'],
  [
    'a function with only handle (not Express)',
    Object.assign((_r: Request) => fetchReply(), { handle() {} }),
    'fetch',
  ],
  ['an Express-like app of three parameters', expressLike(3), 'node'],
  ['an Express-like app of two parameters', expressLike(2), 'node'],
  [
    'a three-argument function',
    (req: IncomingMessage, res: ServerResponse, _next: unknown) => nodeReply(req, res),
    'node',
  ],
  ['a nodeHandler()-marked two-argument function', nodeHandler((req, res) => nodeReply(req, res)), 'node'],
  ['a Koa-like app', koaLike, 'node'],
];

describe('resolveApp decides how a value is served', () => {
  for (const [name, value, kind] of kinds) {
    test(`${name} is served as ${kind}`, () => {
      const resolved = resolveApp(value);
      assert.equal(resolved.kind, kind);
      if (resolved.kind === 'fetch') assert.equal(typeof resolved.app.fetch, 'function');
      else assert.equal(typeof resolved.handler, 'function');
    });
  }

  test('an app object is used as is, and a fetch function is wrapped', () => {
    const app = { fetch: fetchReply };
    const resolved = resolveApp(app);
    assert.ok(resolved.kind === 'fetch' && resolved.app === app);
    const fn = (_request: Request) => fetchReply();
    const wrapped = resolveApp(fn);
    assert.ok(wrapped.kind === 'fetch' && wrapped.app.fetch === fn);
  });

  test('a Koa app is served through its callback(), a node handler as itself', () => {
    const resolved = resolveApp(koaLike);
    assert.ok(resolved.kind === 'node' && resolved.handler === nodeReply);
    const marked = nodeHandler((_req: IncomingMessage, _res: ServerResponse) => {});
    const direct = resolveApp(marked);
    assert.ok(direct.kind === 'node' && direct.handler === marked);
  });

  test('nodeHandler() returns the same function', () => {
    const fn = (_req: IncomingMessage, _res: ServerResponse) => {};
    assert.equal(nodeHandler(fn), fn);
  });

  for (const [name, value, kind] of kinds) {
    test(`through serve(): ${name} answers as a ${kind} app`, async () => {
      const server = await serve(value as Parameters<typeof serve>[0], { port: 0, logger: false });
      try {
        const res = await fetch(server.url);
        assert.equal(res.headers.get('x-kind'), kind);
        assert.equal(await res.text(), kind);
      } finally {
        await server.close();
      }
    });
  }

  const bad: [string, unknown, RegExp][] = [
    ['null', null, /exports null;/],
    ['undefined', undefined, /exports undefined \(is there an `export default`\?\);/],
    ['a number', 42, /exports number;/],
    ['a string', 'app', /exports string;/],
    ['a boolean', true, /exports boolean;/],
    ['a symbol', Symbol('app'), /exports symbol;/],
    ['an object without fetch', { get: 1, post: 2 }, /exports an object with keys \[get, post\];/],
    ['an empty object', {}, /exports an object with keys \[\];/],
    ['an array', [1], /exports an object with keys \[0\];/],
    ['an object whose fetch is not a function', { fetch: 'nope' }, /an object with keys \[fetch\];/],
    ['an object whose callback is not a function', { callback: 1 }, /an object with keys \[callback\];/],
  ];
  for (const [name, value, message] of bad) {
    test(`${name} is refused with STRATA_ERR_BAD_APP, naming what was exported`, () => {
      assert.throws(
        () => resolveApp(value, 'app.ts'),
        (err: unknown) => {
          assert.ok(err instanceof GatewayError);
          assert.equal(err.code, 'STRATA_ERR_BAD_APP');
          assert.equal(err.status, 500);
          assert.equal(err.expose, false);
          assert.match(err.message, /^app\.ts exports /);
          assert.match(err.message, message);
          assert.match(err.message, /expected an app with a fetch\(\) method/);
          return true;
        },
      );
    });
  }

  test('without a source the message says "the app"', () => {
    assert.throws(() => resolveApp(7), /^GatewayError: the app exports number;/);
  });

  test('serve() refuses a bad app before listening', async () => {
    await assert.rejects(
      serve({ get: 1 } as unknown as Parameters<typeof serve>[0], { port: 0, logger: false }),
      (err: unknown) => err instanceof GatewayError && err.code === 'STRATA_ERR_BAD_APP',
    );
  });
});
