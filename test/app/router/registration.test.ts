/**
 * Registration: conflicting routes are refused with a message naming both, invalid paths and
 * methods are refused with STRATA_ERR_ROUTE_INVALID, and a refused route changes nothing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../../../src/app/errors.ts';
import { MALFORMED, MAX_PARAMS, RouteError, Router } from '../../../src/app/router/index.ts';

function routerOf(routes: string[]): Router<string> {
  const router = new Router<string>();
  for (const route of routes) {
    const space = route.indexOf(' ');
    router.add(route.slice(0, space), route.slice(space + 1), route);
  }
  return router;
}

const conflict =
  (first: string, second: string) =>
  (err: unknown): boolean =>
    err instanceof RouteError &&
    err.code === 'STRATA_ERR_ROUTE_CONFLICT' &&
    err.message.includes(first) &&
    err.message.includes(second);

describe('conflicting routes are refused, naming both', () => {
  // [routes, the route named as existing, the route named as refused]
  const CONFLICTS: [string[], string, string][] = [
    [['GET /users/:id', 'GET /users/:name'], 'GET /users/:id', 'GET /users/:name'],
    [['GET /a', 'GET /a'], 'GET /a', 'GET /a'],
    [['GET /f/*', 'GET /f/*'], 'GET /f/*', 'GET /f/*'],
    [['GET /p', 'GET /p/:id?'], 'GET /p', 'GET /p/:id?'],
    [['GET /p/:id?', 'GET /p'], 'GET /p/:id?', 'GET /p'],
    [['GET /p/:x', 'GET /p/:id?'], 'GET /p/:x', 'GET /p/:id?'],
    [['GET /n/:id{[0-9]+}', 'GET /n/:num{[0-9]+}'], 'GET /n/:id{[0-9]+}', 'GET /n/:num{[0-9]+}'],
    [['GET /a/:x/b/:y', 'GET /a/:p/b/:q'], 'GET /a/:x/b/:y', 'GET /a/:p/b/:q'],
    [['GET /café', 'GET /caf%C3%A9'], 'GET /café', 'GET /caf%C3%A9'],
  ];
  for (const [routes, existing, refused] of CONFLICTS) {
    test(routes.join(' + '), () => {
      assert.throws(() => routerOf(routes), conflict(existing, refused));
    });
  }

  test('the message says how to fix it', () => {
    assert.throws(
      () => routerOf(['GET /users/:id', 'GET /users/:name']),
      (err: unknown) =>
        err instanceof Error &&
        err.message ===
          'Route GET /users/:name conflicts with GET /users/:id: both match the same requests (param names alone do not tell routes apart); remove one of them, or make their paths differ by a static segment',
    );
  });

  const FINE: string[][] = [
    ['GET /a/:id', 'POST /a/:id'],
    ['GET /a', 'GET /a/'],
    ['GET /a/:id', 'GET /a/me'],
    ['GET /a/:id', 'GET /a/*'],
    ['GET /a/:id', 'GET /a/:id{[0-9]+}'],
    ['GET /a/:id{[0-9]+}', 'GET /a/:id{[a-f]+}'],
    ['GET /u/:id/posts', 'GET /u/:userId'],
    ['GET /files', 'GET /files/*'],
  ];
  for (const routes of FINE) {
    test(`${routes.join(' + ')} is not a conflict`, () => {
      assert.doesNotThrow(() => routerOf(routes));
    });
  }
});

describe('invalid routes are refused with STRATA_ERR_ROUTE_INVALID', () => {
  const INVALID: [path: string, why: RegExp][] = [
    ['a', /must start with "\/"/],
    ['', /must start with "\/"/],
    ['/a/:', /has no name/],
    ['/a/:1x', /has no name/],
    ['/a/:-x', /has no name/],
    ['/a/b*', /contains "\*"/],
    ['/a/*/b', /must be the last segment/],
    ['/a/*x', /contains "\*"/],
    ['/a/:id?/b', /only the last segment can be optional/],
    ['/a/:x/:x', /appears twice/],
    ['/:from-:to', /whole segment/],
    ['/a/:id.json', /whole segment/],
    ['/a?b', /contains "\?"/],
    ['/a#b', /contains "#"/],
    ['/a b', /contains " "/],
    ['/a\u0000b', /contains/],
    ['/a/:p{[0-9]+', /not closed/],
    ['/a/:__proto__', /reserved/],
    ['/x\ud800', /lone surrogate/],
    [`/${Array.from({ length: MAX_PARAMS + 1 }, (_, i) => `:p${i}`).join('/')}`, /params/],
  ];
  for (const [path, why] of INVALID) {
    test(JSON.stringify(path.length > 40 ? `${path.slice(0, 40)}…` : path), () => {
      assert.throws(
        () => new Router<number>().add('GET', path, 1),
        (err: unknown) =>
          err instanceof RouteError &&
          err.code === 'STRATA_ERR_ROUTE_INVALID' &&
          why.test(err.message) &&
          err.message.startsWith('Route '),
      );
    });
  }

  for (const method of ['', 'GET POST', 'G\nET', 'GÉT']) {
    test(`method ${JSON.stringify(method)}`, () => {
      assert.throws(
        () => new Router<number>().add(method, '/a', 1),
        (err: unknown) => err instanceof RouteError && err.code === 'STRATA_ERR_ROUTE_INVALID',
      );
    });
  }

  test('RouteError is an AppError with a stable name and code', () => {
    try {
      new Router<number>().add('GET', 'nope', 1);
      assert.fail('expected a RouteError');
    } catch (err) {
      assert.ok(err instanceof AppError);
      assert.ok(err instanceof RouteError);
      assert.equal(err.name, 'RouteError');
      assert.equal(err.code, 'STRATA_ERR_ROUTE_INVALID');
    }
  });
});

describe('a refused route leaves the router as it was', () => {
  test('after a conflict on the optional form', () => {
    const router = routerOf(['GET /p']);
    assert.throws(() => router.add('GET', '/p/:id?', 'GET /p/:id?'), RouteError);
    // The non-optional half (/p/:id) must not have been registered.
    assert.equal(router.find('GET', '/p/7'), null);
    assert.deepEqual(router.allowed('/p/7'), []);
    const found = router.find('GET', '/p');
    assert.ok(found !== null && found !== MALFORMED);
    assert.equal(found.value, 'GET /p');
  });

  test('after an unsafe pattern, the method is not even known', () => {
    const router = new Router<string>();
    assert.throws(() => router.add('PUT', '/x/:p{(a)\\1}', 'x'), RouteError);
    assert.deepEqual(router.allowed('/x/a'), []);
    router.add('PUT', '/x/:p', 'ok');
    const found = router.find('PUT', '/x/a');
    assert.ok(found !== null && found !== MALFORMED);
    assert.equal(found.value, 'ok');
  });

  test('routes added after a refusal still work', () => {
    const router = routerOf(['GET /a/:id']);
    assert.throws(() => router.add('GET', '/a/:name', 'dup'), RouteError);
    router.add('GET', '/a/:id/b', 'GET /a/:id/b');
    const found = router.find('GET', '/a/1/b');
    assert.ok(found !== null && found !== MALFORMED);
    assert.deepEqual({ ...found.params }, { id: '1' });
  });
});

describe('registration order does not change the answers', () => {
  const ROUTES = [
    'GET /a/b',
    'GET /a/:x/c',
    'GET /a/*',
    'GET /a/:x',
    'GET /a/b/c/d',
    'GET /ab',
    'GET /a/:x{[0-9]+}/c',
  ];
  const PATHS = ['/a/b', '/a/b/c', '/a/1/c', '/a/z', '/a/b/c/d', '/a/b/c/e', '/ab', '/a/', '/abc'];
  test('every rotation of the route list answers alike', () => {
    const answers = (routes: string[]): string[] =>
      PATHS.map((p) => {
        const found = routerOf(routes).find('GET', p);
        return found === null || found === MALFORMED
          ? String(found)
          : `${found.value} ${JSON.stringify(found.params)}`;
      });
    const expected = answers(ROUTES);
    for (let i = 1; i < ROUTES.length; i++) {
      const rotated = [...ROUTES.slice(i), ...ROUTES.slice(0, i)];
      // Patterned params keep registration order among themselves; there is only one here.
      assert.deepEqual(answers(rotated), expected, rotated.join(', '));
    }
    assert.deepEqual(answers([...ROUTES].reverse()), expected);
  });
});
