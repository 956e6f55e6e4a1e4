/**
 * Per-param patterns: syntax outside the supported subset and patterns too large to compile are
 * refused at registration with STRATA_ERR_ROUTE_PATTERN_UNSAFE; everything else is compiled to
 * a DFA that answers exactly as `^(?:pattern)$` does in V8, in one step per character — the
 * classic ReDoS shapes included. (The seeded fuzz test in test/security/ covers random patterns.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assertSafePattern,
  compilePattern,
  MAX_PATTERN_LENGTH,
  MAX_PATTERN_SEGMENT_LENGTH,
  RouteError,
  Router,
} from '../../../src/app/router/index.ts';

const isCode =
  (code: string) =>
  (err: unknown): boolean =>
    err instanceof RouteError && err.code === code;

// [pattern, why it is refused]: what is not regular, needs context, or is too large to compile.
const REFUSED: [string, RegExp][] = [
  ['(a)\\1', /backreference/],
  ['(?<x>a)\\k<x>', /backreference/],
  ['(?=a)a', /lookaround/],
  ['(?!a)b', /lookaround/],
  ['(?<=a)b', /lookaround/],
  ['^[0-9]+$', /anchor/],
  ['([a-zA-Z]+)*$', /anchor/],
  ['\\bword', /word boundary/],
  ['\\p{L}+', /escape/],
  ['\\cA', /escape/],
  ['\\01', /octal/],
  ['a{2', /quantifier/],
  ['a{,2}', /quantifier/],
  ['a{600}', /more than 512 character positions/],
  ['(?:[a-z]{1,100}){6}', /more than 512 character positions/],
  ['(a|b)*a(a|b){12}', /more than 512 states/],
  ['x'.repeat(MAX_PATTERN_LENGTH + 1), /longer than/],
];

// What backtracking engines choke on and what real routes use: all accepted, all linear.
const ACCEPTED = [
  '[0-9]+',
  '\\d+',
  '\\d{1,10}',
  '[a-z0-9-]+',
  'v[0-9]+',
  '(?:json|xml)',
  '(?:json|xml)+',
  'json|xml',
  'abc',
  '[a-f0-9]{40}',
  '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
  '[a-z0-9]+(?:-[a-z0-9]+)*',
  '\\d{4}-\\d{2}-\\d{2}',
  '[^/]+\\.json',
  '.+\\.png',
  '[^.]+\\.(?:png|jpe?g|gif)',
  '(?<id>[0-9]+)',
  '.+',
  '\\S+',
  '\\s?x',
  'caf\\u00e9',
  'café',
  '[\\]a-]+',
  '[\\d-z]+',
  '[^]*',
  '[]|a',
  '()',
  'a+?b*?',
  // The classic ReDoS shapes, harmless to a DFA.
  '(a+)+',
  '(a*)*b',
  '(.*)*',
  '(\\d+)*x',
  '(x+x+)+y',
  '(.*a){20}',
  '(a|a)*',
  '(a|aa)+',
  '(?:a|b?)+',
  '\\d+\\d+',
  '.*x.*',
  '[0-9]*0[0-9]*',
  // The ones the old shape check let through.
  '(?:a|a)'.repeat(24),
  'a{0,16}'.repeat(6),
  '\\w{1,16}'.repeat(6),
];

describe('patterns outside the subset, or too large, are refused', () => {
  for (const [source, why] of REFUSED) {
    test(`{${source.length > 40 ? `${source.slice(0, 40)}…` : source}}`, () => {
      assert.throws(
        () => assertSafePattern(source, '/r/:p'),
        (err: unknown) => isCode('STRATA_ERR_ROUTE_PATTERN_UNSAFE')(err) && why.test((err as Error).message),
      );
    });
  }

  test('the route is refused at registration, naming the route and where the subset is documented', () => {
    const router = new Router<number>();
    assert.throws(
      () => router.add('GET', '/users/:id{(?=1)\\d+}', 1),
      (err: unknown) =>
        isCode('STRATA_ERR_ROUTE_PATTERN_UNSAFE')(err) &&
        (err as Error).message.includes('/users/:id{(?=1)\\d+}') &&
        (err as Error).message.includes('docs/app.md'),
    );
    assert.equal(router.find('GET', '/users/1'), null);
  });

  test('a pattern that is not a regex at all is STRATA_ERR_ROUTE_INVALID', () => {
    for (const source of ['(a', 'a)', '[a', '*a', '', '[z-a]']) {
      assert.throws(() => assertSafePattern(source, '/r'), isCode('STRATA_ERR_ROUTE_INVALID'), source);
    }
  });
});

/** Subjects built from the pattern's own characters: where a backtracking engine spends its time. */
function subjectsFor(source: string): string[] {
  const chars = [...new Set(source.replace(/[\\()[\]{}|*+?^$]/g, ''))].join('') || 'a';
  const out = ['', 'a', '0', '-', 'é', '\u2028', '\n', '/', ' ', 'abc', '2024-01-31', 'x.png', 'a.json'];
  for (let n = 1; n <= 8; n++) out.push(chars.repeat(n).slice(0, n), `${chars.repeat(n).slice(0, n)}!`);
  out.push('123e4567-e89b-12d3-a456-426614174000', 'a-b-c', 'xml', 'jsonxml', 'caf\u00e9');
  return out;
}

describe('accepted patterns answer as V8 does, in one step per character', () => {
  for (const source of ACCEPTED) {
    const label = source.length > 40 ? `${source.slice(0, 40)}…` : source;
    test(`{${label}}`, () => {
      const matcher = compilePattern(source, '/r/:p');
      assert.doesNotThrow(() => new Router<number>().add('GET', `/r/:p{${source}}`, 1));
      const re = new RegExp(`^(?:${source})$`);
      for (const subject of subjectsFor(source)) {
        assert.equal(matcher.matches(subject, 0, subject.length), re.test(subject), JSON.stringify(subject));
      }
      // Crafted: long runs of the pattern's characters, then one that breaks the match.
      for (const unit of ['a', '0', 'a-', 'a.', '-', 'ab', '0,', 'é', 'x']) {
        const subject = `${unit.repeat(MAX_PATTERN_SEGMENT_LENGTH)}`.slice(0, MAX_PATTERN_SEGMENT_LENGTH - 1);
        const { steps } = matcher.trace(`${subject}!`);
        assert.ok(steps <= MAX_PATTERN_SEGMENT_LENGTH, `${steps} steps`);
      }
    });
  }

  test('a segment longer than MAX_PATTERN_SEGMENT_LENGTH never matches, and costs no step', () => {
    const matcher = compilePattern('.+', '/r');
    const long = 'a'.repeat(MAX_PATTERN_SEGMENT_LENGTH + 1);
    assert.equal(matcher.matches(long, 0, long.length), false);
    assert.deepEqual(matcher.trace(long), { matched: false, steps: 0 });
    assert.equal(matcher.matches(long, 1, long.length), true);
  });
});

describe('character classes are exact over every UTF-16 code unit', () => {
  for (const source of [
    '.',
    '\\s',
    '\\S',
    '\\d',
    '\\D',
    '\\w',
    '\\W',
    '[^a-z\\s]',
    '[\\u00e0-\\u00ff]',
    '[^]',
  ]) {
    test(`{${source}}`, () => {
      const matcher = compilePattern(source, '/r');
      const re = new RegExp(`^(?:${source})$`);
      for (let c = 0; c <= 0xffff; c++) {
        const ch = String.fromCharCode(c);
        if (matcher.matches(ch, 0, 1) !== re.test(ch)) assert.fail(`{${source}} on U+${c.toString(16)}`);
      }
    });
  }
});
