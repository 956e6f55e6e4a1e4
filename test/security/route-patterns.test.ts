/**
 * Param patterns cannot stall a lookup (ReDoS): the patterns the old shape check let through,
 * which take most of a second each in V8 on a 25-character segment, are matched by the
 * router's DFA in one step per character, and a lookup hands no segment to a backtracking
 * RegExp at all. Real-world patterns keep working; pattern and segment lengths are capped.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compilePattern,
  MALFORMED,
  MAX_PATTERN_LENGTH,
  MAX_PATTERN_SEGMENT_LENGTH,
  RouteError,
  Router,
} from '../../src/app/router/index.ts';

/** Counts the RegExp executions `fn` makes (RegExp#test and friends all go through `exec`). */
function regexRuns(fn: () => void): number {
  const original = RegExp.prototype.exec;
  let runs = 0;
  RegExp.prototype.exec = function (this: RegExp, s: string) {
    runs++;
    return original.call(this, s);
  };
  try {
    fn();
  } finally {
    RegExp.prototype.exec = original;
  }
  return runs;
}

function routeFor(router: Router<string>, path: string): string | null {
  const found = router.find('GET', path);
  return found === null || found === MALFORMED ? null : found.value;
}

// Each took 0.7–0.85 s in V8 on a 25-character segment of "a" and a mismatching tail.
const EXPONENTIAL = ['(?:a|a)'.repeat(24), 'a{0,16}'.repeat(6), '\\w{1,16}'.repeat(6)];

describe('patterns that backtrack exponentially in V8 cost one step per character', () => {
  for (const source of EXPONENTIAL) {
    test(`{${source.slice(0, 28)}…}`, () => {
      const router = new Router<string>();
      router.add('GET', `/r/:p{${source}}`, 'r');
      const crafted = `${'a'.repeat(25)}!`;
      let found: string | null = 'unset';
      assert.equal(
        regexRuns(() => {
          found = routeFor(router, `/r/${crafted}`);
        }),
        0,
        'the lookup ran a backtracking RegExp',
      );
      assert.equal(found, null);
      const { matched, steps } = compilePattern(source, '/r').trace(crafted);
      assert.equal(matched, false);
      assert.ok(steps <= crafted.length, `${steps} steps`);
      assert.equal(routeFor(router, `/r/${'a'.repeat(24)}`), 'r');
    });
  }
});

describe('real-world patterns', () => {
  const router = new Router<string>();
  router.add('GET', '/users/:id{\\d+}', 'user');
  router.add('GET', '/posts/:slug{[a-z0-9-]+}', 'post');
  router.add('GET', '/img/:file{.+\\.png}', 'png');
  router.add('GET', '/obj/:uuid{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}}', 'uuid');
  router.add('GET', '/v/:n{v[0-9]+|latest}', 'version');
  // [path, route value or null]
  const CASES: [string, string | null][] = [
    ['/users/42', 'user'],
    ['/users/42a', null],
    ['/posts/hello-world-2', 'post'],
    ['/posts/Hello', null],
    ['/img/a.b.png', 'png'],
    ['/img/.png', null],
    ['/img/a.png.gif', null],
    ['/obj/123e4567-e89b-12d3-a456-426614174000', 'uuid'],
    ['/obj/123e4567-e89b-12d3-a456-42661417400', null],
    ['/obj/123E4567-e89b-12d3-a456-426614174000', null],
    ['/v/v12', 'version'],
    ['/v/latest', 'version'],
    ['/v/latest2', null],
  ];
  for (const [path, expected] of CASES) {
    test(`${path} → ${expected}`, () => {
      assert.equal(
        regexRuns(() => assert.equal(routeFor(router, path), expected)),
        0,
      );
    });
  }
});

describe('limits', () => {
  test(`a pattern longer than ${MAX_PATTERN_LENGTH} characters is refused at registration`, () => {
    assert.throws(
      () => new Router<string>().add('GET', `/r/:p{${'a'.repeat(MAX_PATTERN_LENGTH + 1)}}`, 'r'),
      (err: unknown) => err instanceof RouteError && err.code === 'STRATA_ERR_ROUTE_PATTERN_UNSAFE',
    );
    assert.doesNotThrow(() =>
      new Router<string>().add('GET', `/r/:p{${'a'.repeat(MAX_PATTERN_LENGTH)}}`, 'r'),
    );
  });

  test(`a segment longer than ${MAX_PATTERN_SEGMENT_LENGTH} characters never matches a pattern`, () => {
    const router = new Router<string>();
    router.add('GET', '/t/:token{[A-Za-z0-9_-]+}', 'token');
    router.add('GET', '/t/:other', 'plain');
    assert.equal(routeFor(router, `/t/${'a'.repeat(MAX_PATTERN_SEGMENT_LENGTH)}`), 'token');
    // The plain param still takes it: the cap bounds the pattern's work, not the path.
    assert.equal(routeFor(router, `/t/${'a'.repeat(MAX_PATTERN_SEGMENT_LENGTH + 1)}`), 'plain');
  });

  test('a pattern whose automaton would be too large is refused, not matched slowly', () => {
    for (const source of ['(a|b)*a(a|b){12}', 'a{513}', '(?:[a-z]{1,100}){6}']) {
      assert.throws(
        () => new Router<string>().add('GET', `/r/:p{${source}}`, 'r'),
        (err: unknown) =>
          err instanceof RouteError &&
          err.code === 'STRATA_ERR_ROUTE_PATTERN_UNSAFE' &&
          err.message.includes(`{${source}}`),
        source,
      );
    }
  });
});
