/**
 * Every route of the three route sets in test/fixtures/routes (copied from the project's shared data) resolves to its own value with its own
 * params (filled with generated values, some needing percent-decoding), and near misses
 * (an extra or a missing segment, a trailing slash, another method) do not resolve to it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MALFORMED, Router } from '../../../src/app/router/index.ts';

const DATA = join(import.meta.dirname, '..', '..', 'fixtures', 'routes');
const FILES = ['github-api-routes.txt', 'parse-api-routes.txt', 'static-routes.txt'];

/** Values for route `index`: plain, with reserved characters, with non-ASCII, by turns. */
function valueFor(name: string, index: number): string {
  switch (index % 4) {
    case 0:
      return `${name}${index}`;
    case 1:
      return `${name}-${index} é/?#%`;
    case 2:
      return `${index}.${name}~_`;
    default:
      return `日本-${index}`;
  }
}

function fill(path: string, index: number): { url: string; params: Record<string, string> } {
  const params: Record<string, string> = {};
  const url = path.replace(/:(\w+)/g, (_, name: string) => {
    const value = valueFor(name, index);
    params[name] = value;
    return encodeURIComponent(value);
  });
  return { url, params };
}

function load(file: string): { lines: string[]; router: Router<string> } {
  const lines = readFileSync(join(DATA, file), 'utf8').trim().split('\n');
  const router = new Router<string>();
  for (const line of lines) {
    const [method, path] = line.split(' ') as [string, string];
    router.add(method, path, line);
  }
  return { lines, router };
}

for (const file of FILES) {
  describe(`every route of ${file}`, () => {
    const { lines, router } = load(file);

    test('resolves to its own value, route and params', () => {
      lines.forEach((line, i) => {
        const [method, path] = line.split(' ') as [string, string];
        const { url, params } = fill(path, i);
        const found = router.find(method, url);
        assert.ok(found !== null && found !== MALFORMED, `${line} as ${url}: ${String(found)}`);
        assert.equal(found.value, line, url);
        assert.equal(found.route, path);
        assert.deepEqual({ ...found.params }, params, url);
      });
    });

    test('resolves with a query string left on', () => {
      lines.forEach((line, i) => {
        const [method, path] = line.split(' ') as [string, string];
        const { url, params } = fill(path, i);
        const found = router.find(method, `${url}?page=2&q=a/b`);
        assert.ok(found !== null && found !== MALFORMED, `${line} as ${url}?…`);
        assert.equal(found.value, line);
        assert.deepEqual({ ...found.params }, params);
      });
    });

    test('near misses do not resolve to it', () => {
      lines.forEach((line, i) => {
        const [method, path] = line.split(' ') as [string, string];
        const { url } = fill(path, i);
        const misses = [
          `${url}/extra`,
          `${url}/extra/segments`,
          url.slice(0, url.lastIndexOf('/')) || '/nowhere',
        ];
        misses.push(url.endsWith('/') ? url.slice(0, -1) : `${url}/`);
        for (const miss of misses) {
          const found = router.find(method, miss);
          // A near miss may be another registered route; it must never be this one.
          if (found !== null && found !== MALFORMED)
            assert.notEqual(found.value, line, `${miss} resolved to ${line}`);
        }
        for (const other of ['PATCH', 'OPTIONS', 'TRACE']) {
          if (lines.includes(`${other} ${path}`)) continue;
          const found = router.find(other, url);
          if (found !== null && found !== MALFORMED) assert.notEqual(found.value, line, `${other} ${url}`);
        }
      });
    });

    test('allowed() lists exactly the methods registered for the route', () => {
      lines.forEach((line, i) => {
        const [, path] = line.split(' ') as [string, string];
        const { url } = fill(path, i);
        const allowed = router.allowed(url);
        for (const m of new Set(lines.filter((l) => l.endsWith(` ${path}`)).map((l) => l.split(' ')[0]!)))
          assert.ok(allowed.includes(m), `${m} missing from allowed(${url}): ${allowed.join(',')}`);
        for (const m of allowed) {
          const found = router.find(m, url);
          assert.ok(found !== null, `allowed(${url}) lists ${m}, which finds nothing`);
        }
      });
    });
  });
}
