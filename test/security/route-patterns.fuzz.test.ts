/**
 * Soundness of the param-pattern check, fuzzed: random patterns from a grammar rich in the
 * shapes that make backtracking engines explode (nested and adjacent quantifiers, overlapping
 * alternations under quantifiers, counted repetitions, classes that overlap). For every pattern
 * the check accepts:
 *  - matching adversarial subjects (runs of the pattern's own characters, up to the segment
 *    limit, then a character that breaks the match) takes at most one step per character,
 *    counted by the matcher itself (`trace`), never wall-clock;
 *  - the answer is V8's answer for `^(?:pattern)$`, asked of V8's own linear-time engine (the
 *    `l` flag, behind --enable-experimental-regexp-engine) where it takes the pattern: V8's
 *    default engine can take hours on some accepted patterns even with a 3-character subject
 *    (`(?:\s?|\s?){2}` written 18 times fails in 4^36 ways);
 *  - the router answers the same through a `/r/:p{pattern}` route.
 * Every pattern it refuses is refused with a RouteError code, never a crash.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import {
  compilePattern,
  MALFORMED,
  MAX_PATTERN_SEGMENT_LENGTH,
  RouteError,
  Router,
  type SegmentMatcher,
} from '../../src/app/router/index.ts';
import { fuzz, type Rng } from '../fixtures/fuzz.ts';

const ATOMS = [
  'a',
  'a',
  'b',
  'x',
  '0',
  '-',
  '\\.',
  '.',
  '\\d',
  '\\w',
  '\\s',
  '\\S',
  '\\D',
  '[ab]',
  '[a-c0-9]',
  '[^b]',
  '[^/]',
  '[a-]',
  // Escapes and class corners, where a parser could read the pattern differently from V8.
  '\\x41',
  '\\u00e9',
  'é',
  '[\\d-z]',
  '[^]',
  '[]',
  '[\\b]',
  '\\0',
  '\\/',
  '[\\s\\S]',
  '[^\\w.]',
];
const QUANTIFIERS = [
  '',
  '',
  '',
  '*',
  '+',
  '?',
  '*?',
  '+?',
  '{2}',
  '{0,3}',
  '{1,16}',
  '{0,16}',
  '{2,}',
  '{1,4}?',
];
/** Characters subjects are made of: what the atoms match, and what breaks them. */
const POOL = 'abx0-. Azé';
const TAILS = ['!', '/', '\n', 'é', 'b', '', ' '];

function atom(rng: Rng, depth: number): string {
  if (depth < 3 && rng.chance(0.35)) {
    const branches: string[] = [];
    const count = rng.int(1, 3);
    // Overlapping branches on purpose: a branch often repeats the one before.
    for (let i = 0; i < count; i++)
      branches.push(i > 0 && rng.chance(0.4) ? branches[i - 1]! : sequence(rng, depth + 1));
    return `(${rng.chance(0.7) ? '?:' : ''}${branches.join('|')})`;
  }
  return rng.pick(ATOMS);
}

function sequence(rng: Rng, depth: number): string {
  let out = '';
  const count = rng.int(1, 3);
  for (let i = 0; i < count; i++) out += atom(rng, depth) + rng.pick(QUANTIFIERS);
  return out;
}

function pattern(rng: Rng): string {
  // Half the time a unit repeated, as in (?:a|a)(?:a|a)… or a{0,16}a{0,16}…
  if (rng.chance(0.5)) {
    const unit = atom(rng, 1) + rng.pick(QUANTIFIERS.filter((q) => q !== ''));
    return unit.repeat(Math.max(1, Math.min(rng.int(2, 24), Math.floor(256 / unit.length))));
  }
  let out = sequence(rng, 0);
  if (rng.chance(0.2)) out += `|${sequence(rng, 1)}`;
  return out;
}

function adversarial(rng: Rng): string {
  const unit = rng.string(POOL, rng.int(1, 3));
  const length = rng.pick([8, 25, 100, MAX_PATTERN_SEGMENT_LENGTH - 1]);
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length) + rng.pick(TAILS);
}

// Only for the `l` flag of the oracle; this test file runs in a process of its own.
setFlagsFromString('--enable-experimental-regexp-engine');

/** V8's linear-time engine for `source`, or undefined where it does not take it (e.g. `a{0,100}`). */
function oracle(source: string): RegExp | undefined {
  try {
    return new RegExp(`^(?:${source})$`, 'l');
  } catch {
    return undefined;
  }
}

test('every accepted pattern matches in at most one step per character, as V8 would answer', async () => {
  let accepted = 0;
  let refused = 0;
  let compared = 0;
  let steps = 0;
  let characters = 0;
  const cases = await fuzz({ seed: 0x5e6d_13, iterations: 3000, budgetMs: 1500 }, (rng) => {
    const source = pattern(rng);
    let matcher: SegmentMatcher;
    try {
      matcher = compilePattern(source, `/r/:p{${source}}`);
    } catch (err) {
      assert.ok(
        err instanceof RouteError &&
          (err.code === 'STRATA_ERR_ROUTE_PATTERN_UNSAFE' || err.code === 'STRATA_ERR_ROUTE_INVALID'),
        `{${source}} refused without a route code: ${err}`,
      );
      refused++;
      return;
    }
    accepted++;
    for (let k = 0; k < 4; k++) {
      const subject = adversarial(rng);
      const run = matcher.trace(subject);
      assert.ok(
        run.steps <= Math.min(subject.length, MAX_PATTERN_SEGMENT_LENGTH),
        `{${source}} took ${run.steps} steps on ${subject.length} characters`,
      );
      assert.equal(run.matched, matcher.matches(subject, 0, subject.length));
      steps += run.steps;
      characters += subject.length;
    }
    const re = oracle(source);
    if (re === undefined) return;
    compared++;
    const router = new Router<string>();
    router.add('GET', `/r/:p{${source}}`, 'r');
    for (let k = 0; k < 8; k++) {
      const subject = rng.string(`${POOL}!`, rng.int(0, 12));
      const expected: boolean = re.test(subject);
      assert.equal(matcher.trace(subject).matched, expected, `{${source}} on ${JSON.stringify(subject)}`);
      if (subject !== '' && !/[ /\n]/.test(subject)) {
        const found = router.find('GET', `/r/${subject}`);
        assert.equal(found !== null && found !== MALFORMED, expected, `router {${source}} on ${subject}`);
      }
    }
  });
  assert.ok(cases >= 50, `only ${cases} cases ran`);
  // Not vacuous: most generated patterns are accepted, and they were tested on long subjects.
  assert.ok(accepted >= refused, `${accepted} accepted, ${refused} refused`);
  assert.ok(compared >= accepted / 2, `only ${compared} of ${accepted} compared with V8`);
  assert.ok(steps <= characters);
});
