/**
 * What the app needs beyond find(): the methods a path has (405 + Allow, automatic OPTIONS,
 * HEAD for GET) and the other trailing-slash form (to redirect).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Router } from '../../../src/app/router/index.ts';

function routerOf(routes: string[]): Router<string> {
  const router = new Router<string>();
  for (const route of routes) {
    const space = route.indexOf(' ');
    router.add(route.slice(0, space), route.slice(space + 1), route);
  }
  return router;
}

describe('allowed()', () => {
  const router = routerOf([
    'DELETE /users/:id',
    'GET /users/:id',
    'PATCH /users/:id',
    'PROPFIND /users/:id',
    'MKCOL /users/:id',
    'GET /users/me',
    'POST /users',
    'GET /files/*',
    'OPTIONS /files/*',
  ]);
  const ROWS: [path: string, methods: string[]][] = [
    ['/users/42', ['GET', 'PATCH', 'DELETE', 'MKCOL', 'PROPFIND']],
    ['/users/me', ['GET', 'PATCH', 'DELETE', 'MKCOL', 'PROPFIND']],
    ['/users', ['POST']],
    ['/users/', []],
    ['/users/42/x', []],
    ['/files/a/b', ['GET', 'OPTIONS']],
    ['/nowhere', []],
    ['/users/42?x=1', ['GET', 'PATCH', 'DELETE', 'MKCOL', 'PROPFIND']],
    ['', []],
    ['users', []],
  ];
  for (const [path, methods] of ROWS) {
    test(`${JSON.stringify(path)} → ${methods.join(', ') || 'none'}`, () => {
      assert.deepEqual(router.allowed(path), methods);
    });
  }

  test('a path with malformed escapes still lists its methods (the 400 comes from find)', () => {
    assert.deepEqual(router.allowed('/users/%zz'), ['GET', 'PATCH', 'DELETE', 'MKCOL', 'PROPFIND']);
  });

  test('returns a fresh array each time', () => {
    const a = router.allowed('/users');
    a.push('X');
    assert.deepEqual(router.allowed('/users'), ['POST']);
  });
});

describe('alternate()', () => {
  const router = routerOf(['GET /a', 'GET /b/', 'GET /c', 'GET /c/', 'POST /d', 'GET /u/:id', 'GET /f/*']);
  const ROWS: [method: string, path: string, other: string | null][] = [
    ['GET', '/a/', '/a'],
    ['GET', '/b', '/b/'],
    ['GET', '/a/?x=1', '/a?x=1'],
    ['GET', '/a', null],
    ['GET', '/c', null],
    ['GET', '/c/', null],
    ['GET', '/d/', null],
    ['POST', '/d/', '/d'],
    ['GET', '/u/7/', '/u/7'],
    ['GET', '/f', '/f/'],
    ['GET', '/', null],
    ['GET', '/nowhere/', null],
    ['PUT', '/a/', null],
    ['GET', '', null],
  ];
  for (const [method, path, other] of ROWS) {
    test(`${method} ${JSON.stringify(path)} → ${String(other)}`, () => {
      assert.equal(router.alternate(method, path), other);
    });
  }
});
