/**
 * Hostile request paths: lookups never throw, stay fast, and give the documented answer.
 * Each row is one line: a path, and what find('GET', path) must answer: the route's value and
 * params, `null`, or MALFORMED.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MALFORMED, Router } from '../../../src/app/router/index.ts';

function router(): Router<string> {
  const r = new Router<string>();
  for (const route of [
    '/',
    '/a/:b',
    '/a/:b/c',
    '/files/*',
    '/n/:id{[0-9]+}',
    '/s/static',
    '/x/:p{[a-z]+(?:-[a-z]+)*}',
  ])
    r.add('GET', route, route);
  return r;
}

type Answer = [route: string, params: Record<string, string>] | null | typeof MALFORMED;

const long = 'x'.repeat(100_000);
const ROWS: [name: string, path: string, answer: Answer][] = [
  ['lone %', '/a/%', MALFORMED],
  ['% and a non-hex pair', '/a/%zz', MALFORMED],
  ['truncated escape', '/a/%E0%A4%A', MALFORMED],
  ['overlong UTF-8 for /', '/a/%C0%AF', MALFORMED],
  ['UTF-8 surrogate half', '/a/%ED%A0%80', MALFORMED],
  ['%00 decodes to NUL, returned as is', '/a/%00', ['/a/:b', { b: '\u0000' }]],
  ['raw NUL in a param', '/a/\u0000', ['/a/:b', { b: '\u0000' }]],
  ['raw NUL in a static segment', '/s/stat\u0000ic', null],
  ['lone surrogate in a param', '/a/\ud800', ['/a/:b', { b: '\ud800' }]],
  ['latin1 bytes as Node hands raw UTF-8 over', '/a/cafÃ©', ['/a/:b', { b: 'cafÃ©' }]],
  [
    'dot segment in a wildcard is not resolved',
    '/files/../../etc/passwd',
    ['/files/*', { '*': '../../etc/passwd' }],
  ],
  ['encoded dot segments decode, unresolved', '/files/%2e%2e/%2e%2e/x', ['/files/*', { '*': '../../x' }]],
  ['dot segment as a param', '/a/..', ['/a/:b', { b: '..' }]],
  ['dot segment before a static tail', '/a/../c', ['/a/:b/c', { b: '..' }]],
  ['encoded slash in a param', '/a/..%2F..%2Fetc', ['/a/:b', { b: '../../etc' }]],
  ['backslashes are plain characters', '/a/..\\..\\x', ['/a/:b', { b: '..\\..\\x' }]],
  ['many slashes', '/'.repeat(10_000), null],
  [
    'many slashes after a wildcard',
    `/files/${'/'.repeat(10_000)}`,
    ['/files/*', { '*': '/'.repeat(10_000) }],
  ],
  ['many segments', `/${'a/'.repeat(5000)}`, null],
  ['very long param', `/a/${long}`, ['/a/:b', { b: long }]],
  ['very long param with a %', `/a/${long}%41`, ['/a/:b', { b: `${long}A` }]],
  ['very long static miss', `/s/${long}`, null],
  ['very long wildcard', `/files/${long}`, ['/files/*', { '*': long }]],
  ['long digit run against a pattern', `/n/${'1'.repeat(100_000)}x`, null],
  ['crafted input against a slug pattern', `/x/${'a-'.repeat(50_000)}!`, null],
  ['empty path', '', null],
  ['no leading slash', 'a/b', null],
  ['absolute URL instead of a path', 'http://example.com/a/b', null],
  ['only a query', '?a=1', null],
  ['query after a static route', '/s/static?x', ['/s/static', {}]],
  ['query holding a slash and a %', '/a/b?x=/%zz', ['/a/:b', { b: 'b' }]],
  ['fragment is part of the raw path', '/a/b#frag', ['/a/:b', { b: 'b#frag' }]],
  ['tab and newline in a param', '/a/\t\n', ['/a/:b', { b: '\t\n' }]],
  ['whitespace-only param', '/a/%20', ['/a/:b', { b: ' ' }]],
  ['prototype-looking segment', '/a/__proto__', ['/a/:b', { b: '__proto__' }]],
  ['constructor-looking segment', '/a/constructor', ['/a/:b', { b: 'constructor' }]],
];

describe('hostile paths never throw and give the documented answer', () => {
  const r = router();
  for (const [name, path, answer] of ROWS) {
    test(name, () => {
      const started = performance.now();
      let found: ReturnType<Router<string>['find']> = null;
      assert.doesNotThrow(() => {
        found = r.find('GET', path);
      });
      assert.doesNotThrow(() => r.allowed(path));
      assert.doesNotThrow(() => r.alternate('GET', path));
      assert.ok(performance.now() - started < 500, 'a hostile path must not stall the lookup');
      if (answer === null || answer === MALFORMED) {
        assert.equal(found, answer);
        return;
      }
      const match = found as ReturnType<Router<string>['find']>;
      assert.ok(match !== null && match !== MALFORMED, `expected ${answer[0]}, got ${String(match)}`);
      assert.equal(match.value, answer[0]);
      assert.deepEqual({ ...match.params }, answer[1]);
    });
  }

  test('a params object never inherits a hostile key', () => {
    const found = r.find('GET', '/a/__proto__');
    assert.ok(found !== null && found !== MALFORMED);
    assert.equal(Object.getPrototypeOf(found.params), Object.prototype);
    assert.equal(Object.hasOwn(found.params, 'b'), true);
  });

  test('the shared params of a route without params cannot be changed', () => {
    const found = r.find('GET', '/s/static');
    assert.ok(found !== null && found !== MALFORMED);
    assert.throws(() => {
      (found.params as Record<string, string>).x = '1';
    }, TypeError);
    const again = r.find('GET', '/s/static');
    assert.ok(again !== null && again !== MALFORMED);
    assert.deepEqual({ ...again.params }, {});
  });
});
