import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertSafePattern, RouteError, RouteTable } from '../../src/app/route-table.ts';
import { ROUTER_CASES } from '../fixtures/router-cases.ts';

function tableOf(routes: string[]): RouteTable<string> {
  const table = new RouteTable<string>();
  for (const route of routes) {
    const space = route.indexOf(' ');
    table.add(route.slice(0, space), route.slice(space + 1), route);
  }
  return table;
}

describe('router conformance table', () => {
  for (const c of ROUTER_CASES) {
    test(c.name, () => {
      const found = tableOf(c.routes).find(c.request[0], c.request[1]);
      if (c.expect === null || c.expect === 'malformed') assert.equal(found, c.expect);
      else {
        assert.ok(found !== null && found !== 'malformed', `expected ${c.expect.route}`);
        assert.equal(found.value, c.expect.route);
        assert.deepEqual({ ...found.params }, c.expect.params);
      }
    });
  }
});

const DATA = join(import.meta.dirname, '..', '..', '..', 'shared', 'data');

/** Fills each param with a value unique to the route, some needing percent-encoding. */
function fill(path: string, index: number): { url: string; params: Record<string, string> } {
  const params: Record<string, string> = {};
  const url = path.replace(/:(\w+)/g, (_, name: string) => {
    const value = index % 3 === 0 ? `${name}-${index} é/` : `${name}${index}`;
    params[name] = value;
    return encodeURIComponent(value);
  });
  return { url, params };
}

for (const file of ['github-api-routes.txt', 'parse-api-routes.txt', 'static-routes.txt']) {
  describe(`every route of ${file}`, () => {
    const lines = readFileSync(join(DATA, file), 'utf8').trim().split('\n');
    const table = tableOf(lines);
    test('resolves to its own handler with its params', () => {
      lines.forEach((line, i) => {
        const [method, path] = line.split(' ') as [string, string];
        const { url, params } = fill(path, i);
        const found = table.find(method, url);
        assert.ok(found !== null && found !== 'malformed', `${line} as ${url}`);
        assert.equal(found.value, line, url);
        assert.deepEqual({ ...found.params }, params, url);
      });
    });
    test('near misses do not match', () => {
      lines.forEach((line, i) => {
        const [method, path] = line.split(' ') as [string, string];
        const { url } = fill(path, i);
        for (const miss of [
          `${url}/extra/segment`,
          `${url}//`,
          url.slice(0, url.lastIndexOf('/')) || '/nowhere-at-all',
        ]) {
          const found = table.find(method, miss);
          if (found !== null && found !== 'malformed') {
            // A shorter path may legitimately be another registered route: then it must be that one.
            assert.notEqual(found.value, line, `${miss} must not resolve to ${line}`);
          }
        }
        const other = method === 'GET' ? 'PATCH' : 'OPTIONS';
        assert.equal(table.find(other, url), null, `${other} ${url}`);
      });
    });
  });
}

describe('hostile paths never throw', () => {
  const table = tableOf(['GET /a/:b', 'GET /files/*', 'GET /']);
  const paths = [
    '/a/%',
    '/a/%zz',
    '/a/%C0%AF',
    `/${'a/'.repeat(5000)}`,
    `/a/${'x'.repeat(100_000)}`,
    '/'.repeat(10_000),
    '/files/../../etc/passwd',
    '/files/%2e%2e/%2e%2e',
    '/a/\u0000',
    '/a/\ud800',
    '',
    '?',
    '/a/b?c=d',
  ];
  for (const path of paths) {
    test(`${JSON.stringify(path.slice(0, 40))}${path.length > 40 ? '…' : ''}`, () => {
      assert.doesNotThrow(() => table.find('GET', path));
      assert.doesNotThrow(() => table.allowed(path));
    });
  }
  test('a wildcard hands the rest over raw-decoded, never resolving dot segments', () => {
    const found = table.find('GET', '/files/%2e%2e/x');
    assert.ok(found !== null && found !== 'malformed');
    assert.equal(found.params['*'], '../x');
  });
});

describe('registration errors', () => {
  const conflicts: [string[], RegExp][] = [
    [['GET /users/:id', 'GET /users/:name'], /GET \/users\/:name conflicts with GET \/users\/:id/],
    [['GET /a', 'GET /a'], /GET \/a conflicts with GET \/a/],
    [['GET /f/*', 'GET /f/*'], /conflicts/],
    [['GET /p/:id?', 'GET /p'], /GET \/p conflicts with GET \/p/],
  ];
  for (const [routes, message] of conflicts) {
    test(`${routes.join(' + ')} is a conflict naming both`, () => {
      assert.throws(
        () => tableOf(routes),
        (err: unknown) =>
          err instanceof RouteError && err.code === 'STRATA_ERR_ROUTE_CONFLICT' && message.test(err.message),
      );
    });
  }
  test('the same path for two methods is not a conflict', () => {
    assert.doesNotThrow(() => tableOf(['GET /a/:id', 'POST /a/:id']));
  });
  const invalid = ['/a/:', '/a/:1x', '/a/b*', '/a/x:y', '/a/*/b', 'a', '/a/:id?/b', '/a/:x/:x'];
  for (const path of invalid) {
    test(`${path} is refused with STRATA_ERR_ROUTE_INVALID`, () => {
      assert.throws(
        () => new RouteTable().add('GET', path, 1),
        (err: unknown) => err instanceof RouteError && err.code === 'STRATA_ERR_ROUTE_INVALID',
      );
    });
  }
});

describe('per-param patterns are checked for catastrophic backtracking', () => {
  const unsafe = [
    '(a+)+',
    '(a|a)*',
    '(.*)*',
    '(\\d+)*x',
    '(a*)*b',
    '([a-z]+)+$',
    '(x+x+)+y',
    '(a|aa)+',
    '(.*a){20}',
    '(a)\\1',
    '(?=a)a',
  ];
  for (const source of unsafe) {
    test(`refuses {${source}}`, () => {
      assert.throws(
        () => assertSafePattern(source, '/r'),
        (err: unknown) => err instanceof RouteError && err.code === 'STRATA_ERR_ROUTE_PATTERN_UNSAFE',
      );
      assert.throws(() => new RouteTable().add('GET', `/r/:p{${source}}`, 1), RouteError);
    });
  }
  const safe = ['[0-9]+', '\\d{1,10}', '[a-z0-9-]+', 'v[0-9]+', '(?:json|xml)', 'abc', '[a-f0-9]{40}'];
  for (const source of safe) {
    test(`accepts {${source}}`, () => {
      assert.doesNotThrow(() => assertSafePattern(source, '/r'));
    });
  }
});
