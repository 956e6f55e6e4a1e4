/**
 * The backtracking check on per-param patterns: known-bad shapes are refused at registration
 * with STRATA_ERR_ROUTE_PATTERN_UNSAFE, safe ones are accepted, and every accepted pattern
 * stays fast on inputs crafted to make a backtracking engine work hard.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertSafePattern, MAX_PATTERN_LENGTH, RouteError, Router } from '../../../src/app/router/index.ts';

const isCode =
  (code: string) =>
  (err: unknown): boolean =>
    err instanceof RouteError && err.code === code;

// [pattern, why it is refused] — the classic ReDoS shapes and the constructs the check refuses.
const UNSAFE: [string, RegExp][] = [
  ['(a+)+', /nests quantifiers/],
  ['(a*)*b', /empty string/],
  ['(.*)*', /empty string/],
  ['(\\d+)*x', /nests quantifiers/],
  ['([a-z]+)+', /nests quantifiers/],
  ['([a-zA-Z]+)*$', /anchor|nests/],
  ['(x+x+)+y', /nests quantifiers/],
  ['(.*a){20}', /nests quantifiers/],
  ['(?<n>a+)+', /nests quantifiers/],
  ['(?:\\d+0)+', /nests quantifiers/],
  ['(?:-[a-z-]+)*', /nests quantifiers/],
  ['(a|a)*', /branches can start alike/],
  ['(a|aa)+', /branches can start alike/],
  ['(?:ab|a)*', /branches can start alike/],
  ['(?:a|b?)+', /empty/],
  ['(a?)*', /empty string/],
  ['\\d+\\d+', /runs in a row/],
  ['.*x.*', /runs in a row/],
  ['\\w+\\d+', /runs in a row/],
  ['[a-z-]+(?:-[a-z]+)*', /runs in a row/],
  ['[0-9]*0[0-9]*', /runs in a row/],
  ['(a)\\1', /backreference/],
  ['(?<x>a)\\k<x>', /backreference/],
  ['(?=a)a', /lookaround/],
  ['(?!a)b', /lookaround/],
  ['(?<=a)b', /lookaround/],
  ['^[0-9]+$', /anchor/],
  ['\\bword', /word boundary/],
  ['\\p{L}+', /escape/],
  ['a{2', /quantifier/],
  ['x'.repeat(MAX_PATTERN_LENGTH + 1), /longer than/],
];

const SAFE = [
  '[0-9]+',
  '\\d{1,10}',
  '[a-z0-9-]+',
  'v[0-9]+',
  '(?:json|xml)',
  '(?:json|xml)+',
  'json|xml',
  'abc',
  '[a-f0-9]{40}',
  '[a-z0-9]+(?:-[a-z0-9]+)*',
  '\\d{4}-\\d{2}-\\d{2}',
  '[^/]+\\.json',
  '[a-z]+-[a-z]+',
  '\\w+\\.\\w+',
  '(?:[0-9]{3})+',
  '[0-9]{3}(?:,[0-9]{3})*',
  '[\\]a-]+',
  '[^.]+\\.(?:png|jpe?g|gif)',
  '(?<id>[0-9]+)',
  '.+',
  '\\S+',
  'caf\\u00e9',
];

describe('unsafe patterns are refused', () => {
  for (const [source, why] of UNSAFE) {
    test(`{${source.length > 40 ? `${source.slice(0, 40)}…` : source}}`, () => {
      assert.throws(
        () => assertSafePattern(source, '/r/:p'),
        (err: unknown) => isCode('STRATA_ERR_ROUTE_PATTERN_UNSAFE')(err) && why.test((err as Error).message),
      );
    });
  }

  test('the route is refused at registration, naming the route and the fix', () => {
    const router = new Router<number>();
    assert.throws(
      () => router.add('GET', '/users/:id{(\\d+)+}', 1),
      (err: unknown) =>
        isCode('STRATA_ERR_ROUTE_PATTERN_UNSAFE')(err) &&
        (err as Error).message.includes('/users/:id{(\\d+)+}') &&
        (err as Error).message.includes('{[0-9]+}'),
    );
    assert.equal(router.find('GET', '/users/1'), null);
  });

  test('a pattern that is not a regex at all is STRATA_ERR_ROUTE_INVALID', () => {
    for (const source of ['(a', 'a)', '[a', '*a', '']) {
      assert.throws(() => assertSafePattern(source, '/r'), isCode('STRATA_ERR_ROUTE_INVALID'), source);
    }
  });
});

describe('safe patterns are accepted', () => {
  for (const source of SAFE) {
    test(`{${source}}`, () => {
      assert.doesNotThrow(() => assertSafePattern(source, '/r/:p'));
      assert.doesNotThrow(() => new Router<number>().add('GET', `/r/:p{${source}}`, 1));
    });
  }
});

describe('accepted patterns stay fast on crafted input', () => {
  // Runs of each pattern's own characters with a character that breaks the match at the end:
  // where a backtracking engine spends its time.
  const crafted = (unit: string): string[] => [`${unit.repeat(20_000)}!`, `${unit.repeat(20_000)}/`];
  const units = ['a', '0', 'a-', 'a.', '-', 'ab', '0,', 'é'];
  for (const source of SAFE) {
    test(`{${source}}`, () => {
      const re = new RegExp(`^(?:${source})$`);
      for (const unit of units) {
        for (const input of crafted(unit)) {
          const started = performance.now();
          re.test(input);
          const took = performance.now() - started;
          assert.ok(
            took < 100,
            `{${source}} took ${took.toFixed(0)} ms on ${JSON.stringify(input.slice(0, 6))}…`,
          );
        }
      }
    });
  }
});
