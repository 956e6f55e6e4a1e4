/**
 * Per-param patterns (`/users/:id{[0-9]+}`), checked and compiled at registration.
 *
 * Safety holds by construction, not by a list of bad shapes: a pattern is parsed into the
 * regular subset of JavaScript regex syntax (pattern-syntax.ts) and compiled to a DFA
 * (pattern-automaton.ts), which tests a segment in one step per character — `(a+)+`,
 * `(?:a|a){24}` and `a{0,16}a{0,16}…` included. What cannot be compiled is refused at
 * registration: syntax outside the subset (backreferences, lookarounds, anchors, `\b`, …,
 * which are not regular or need context), and patterns past the automaton's bounds.
 */
import { RouteError } from './errors.ts';
import { compileSegmentMatcher, type SegmentMatcher } from './pattern-automaton.ts';
import { PatternParser, Refusal } from './pattern-syntax.ts';

/** Longest pattern accepted: long patterns are unreadable and slow to compile. */
export const MAX_PATTERN_LENGTH = 256;

/**
 * Matchers already built, by source: an app checks each route against its own and its parents'
 * route tables before building the one that serves, so a pattern is met several times. Matchers
 * are immutable, so they are shared; the map is cleared when full, which only costs a rebuild.
 */
const compiled = new Map<string, SegmentMatcher>();
const COMPILED_MAX = 1024;

/**
 * Checks `source` and compiles it to a matcher. Throws a `RouteError`:
 * `STRATA_ERR_ROUTE_INVALID` when it is not a regular expression at all,
 * `STRATA_ERR_ROUTE_PATTERN_UNSAFE` when it uses syntax outside the supported subset or is too
 * large to compile. `route` names the route in the message.
 */
export function compilePattern(source: string, route: string): SegmentMatcher {
  if (source.length === 0)
    throw RouteError.invalid(route, 'has an empty pattern {}', 'write a pattern, or drop the braces');
  if (source.length > MAX_PATTERN_LENGTH)
    throw RouteError.unsafePattern(route, source, `is longer than ${MAX_PATTERN_LENGTH} characters`);
  const known = compiled.get(source);
  if (known !== undefined) return known;
  try {
    new RegExp(source);
  } catch (err) {
    throw RouteError.invalid(
      route,
      `pattern {${source}} is not a valid regular expression (${(err as Error).message})`,
      'fix the pattern',
    );
  }
  try {
    const matcher = compileSegmentMatcher(new PatternParser(source).parse());
    if (compiled.size >= COMPILED_MAX) compiled.clear();
    compiled.set(source, matcher);
    return matcher;
  } catch (err) {
    if (err instanceof Refusal) throw RouteError.unsafePattern(route, source, err.why);
    throw err;
  }
}

/**
 * Throws a `RouteError` (`STRATA_ERR_ROUTE_PATTERN_UNSAFE`) when a param pattern uses syntax
 * outside the supported subset or is too large to compile to a linear-time matcher, and
 * `STRATA_ERR_ROUTE_INVALID` when it is not a regular expression at all. `route` names the
 * route in the message. Every pattern it accepts tests a segment in one step per character.
 *
 * @example
 * assertSafePattern('[0-9]+', '/users/:id{[0-9]+}'); // fine
 * assertSafePattern('(a+)+', '/x/:p{(a+)+}');        // fine too: matched by a DFA, never backtracks
 * assertSafePattern('(a)\\1', '/x/:p{(a)\\1}');      // throws STRATA_ERR_ROUTE_PATTERN_UNSAFE
 */
export function assertSafePattern(source: string, route: string): void {
  compilePattern(source, route);
}
