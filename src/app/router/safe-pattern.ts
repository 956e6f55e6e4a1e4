/**
 * The backtracking check for per-param patterns (`/users/:id{[0-9]+}`).
 *
 * path-to-regexp's ReDoS advisories (CVE-2024-45296, CVE-2024-52798) came from regexes whose
 * parts could match the same text in many ways; a backtracking engine then tries every way on a
 * path that almost matches. This check parses the pattern into a small syntax tree and refuses,
 * conservatively, the three shapes where that happens:
 *
 * 1. a repeated part that itself holds a variable-length repetition, unless every repetition
 *    starts with a character the inner repetitions cannot match (`(a+)+`, `(\d+)*x` and `(.*a){20}`
 *    are refused; `[a-z0-9]+(?:-[a-z0-9]+)*` is accepted: each round starts at a `-`);
 * 2. a repeated part holding an alternation whose branches can start with the same character or
 *    match the empty string (`(a|a)*`, `(a|aa)+`);
 * 3. two long variable-length runs in sequence that can share characters, with nothing between
 *    them that the first cannot consume (`\d+\d+`, `.*x.*`: quadratic, which is enough to stall a
 *    server on an 8 KB path).
 *
 * It accepts a documented subset of JavaScript regex syntax and refuses the rest as unprovable:
 * backreferences, lookarounds, anchors and word boundaries are refused (a param pattern is
 * already anchored to the whole segment).
 */
import { RouteError } from './errors.ts';
import { CharSet, PatternParser, Refusal, type Rx } from './pattern-syntax.ts';
/** Longest pattern accepted: long patterns are unreadable and slow to check. */
export const MAX_PATTERN_LENGTH = 256;

/** A variable-length part whose length can vary by more than this is a "long run" (rule 3). */
const LONG_RUN = 16;

function minLength(rx: Rx): number {
  switch (rx.kind) {
    case 'char':
      return 1;
    case 'seq':
      return rx.items.reduce((n, item) => n + minLength(item), 0);
    case 'alt':
      return Math.min(...rx.branches.map(minLength));
    case 'repeat':
      return rx.min * minLength(rx.body);
  }
}

function maxLength(rx: Rx): number {
  switch (rx.kind) {
    case 'char':
      return 1;
    case 'seq':
      return rx.items.reduce((n, item) => n + maxLength(item), 0);
    case 'alt':
      return Math.max(...rx.branches.map(maxLength));
    case 'repeat': {
      const body = maxLength(rx.body);
      return body === 0 ? 0 : rx.max * body;
    }
  }
}

/** Every character the expression can consume. */
function charsOf(rx: Rx): CharSet {
  switch (rx.kind) {
    case 'char':
      return rx.set;
    case 'seq':
      return rx.items.reduce((set, item) => set.addSet(charsOf(item)), new CharSet());
    case 'alt':
      return rx.branches.reduce((set, item) => set.addSet(charsOf(item)), new CharSet());
    case 'repeat':
      return charsOf(rx.body);
  }
}

/** The characters a match can start with. */
function firstOf(rx: Rx): CharSet {
  switch (rx.kind) {
    case 'char':
      return rx.set;
    case 'seq': {
      const set = new CharSet();
      for (const item of rx.items) {
        set.addSet(firstOf(item));
        if (minLength(item) > 0) break;
      }
      return set;
    }
    case 'alt':
      return rx.branches.reduce((set, item) => set.addSet(firstOf(item)), new CharSet());
    case 'repeat':
      return rx.max === 0 ? new CharSet() : firstOf(rx.body);
  }
}

/** The variable-length repetitions in `rx`, itself included. */
function variableRepeats(rx: Rx, out: Rx[] = []): Rx[] {
  if (rx.kind === 'repeat') {
    if (rx.min !== rx.max && maxLength(rx.body) > 0) out.push(rx);
    variableRepeats(rx.body, out);
  } else if (rx.kind === 'seq') for (const item of rx.items) variableRepeats(item, out);
  else if (rx.kind === 'alt') for (const branch of rx.branches) variableRepeats(branch, out);
  return out;
}

function alternationsIn(rx: Rx, out: Extract<Rx, { kind: 'alt' }>[] = []): Extract<Rx, { kind: 'alt' }>[] {
  if (rx.kind === 'alt') {
    out.push(rx);
    for (const b of rx.branches) alternationsIn(b, out);
  } else if (rx.kind === 'seq') for (const item of rx.items) alternationsIn(item, out);
  else if (rx.kind === 'repeat') alternationsIn(rx.body, out);
  return out;
}

function isLongRun(rx: Rx): boolean {
  return maxLength(rx) - minLength(rx) > LONG_RUN;
}

/** Returns why `rx` could backtrack catastrophically, or undefined. */
function findHazard(rx: Rx): string | undefined {
  switch (rx.kind) {
    case 'char':
      return undefined;
    case 'alt':
      for (const b of rx.branches) {
        const why = findHazard(b);
        if (why !== undefined) return why;
      }
      return undefined;
    case 'seq': {
      // Rule 3: a long run followed, before any fence, by another run that can take its characters.
      const items = rx.items;
      for (let i = 0; i < items.length; i++) {
        const item = items[i]!;
        if (!isLongRun(item)) continue;
        const taken = charsOf(item);
        for (let k = i + 1; k < items.length; k++) {
          const next = items[k]!;
          const first = firstOf(next);
          if (!first.intersects(taken)) {
            if (minLength(next) > 0) break; // a fence: the first run cannot cross it
            continue;
          }
          if (variableRepeats(next).some(isLongRun))
            return 'has two variable-length runs in a row that can match the same characters';
        }
      }
      for (const item of items) {
        const why = findHazard(item);
        if (why !== undefined) return why;
      }
      return undefined;
    }
    case 'repeat': {
      if (rx.max > 1) {
        const body = rx.body;
        if (minLength(body) === 0) return 'repeats a part that can match the empty string';
        // Rule 1: a repetition of a variable-length repetition, unless each round starts with
        // a character no inner repetition can take (then the rounds cannot trade characters).
        const inner = variableRepeats(body);
        if (inner.length > 0) {
          const first = firstOf(body);
          if (inner.some((r) => charsOf(r).intersects(first))) return 'nests quantifiers';
        }
        // Rule 2: a repeated alternation whose branches overlap.
        for (const alt of alternationsIn(body)) {
          const seen = new CharSet();
          for (const branch of alt.branches) {
            if (minLength(branch) === 0) return 'repeats an alternation with an empty branch';
            const first = firstOf(branch);
            if (first.intersects(seen)) return 'repeats an alternation whose branches can start alike';
            seen.addSet(first);
          }
        }
      }
      return findHazard(rx.body);
    }
  }
}

/**
 * Throws a `RouteError` (`STRATA_ERR_ROUTE_PATTERN_UNSAFE`) when a param pattern could
 * backtrack catastrophically or uses syntax the check does not cover, and
 * `STRATA_ERR_ROUTE_INVALID` when it is not a regular expression at all. `route` names the
 * route in the message.
 *
 * @example
 * assertSafePattern('[0-9]+', '/users/:id{[0-9]+}'); // fine
 * assertSafePattern('(a+)+', '/x/:p{(a+)+}');        // throws STRATA_ERR_ROUTE_PATTERN_UNSAFE
 */
export function assertSafePattern(source: string, route: string): void {
  if (source.length === 0)
    throw RouteError.invalid(route, 'has an empty pattern {}', 'write a pattern, or drop the braces');
  if (source.length > MAX_PATTERN_LENGTH)
    throw RouteError.unsafePattern(route, source, `is longer than ${MAX_PATTERN_LENGTH} characters`);
  try {
    new RegExp(source);
  } catch (err) {
    throw RouteError.invalid(
      route,
      `pattern {${source}} is not a valid regular expression (${(err as Error).message})`,
      'fix the pattern',
    );
  }
  let why: string | undefined;
  try {
    why = findHazard(new PatternParser(source).parse());
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    why = err.why;
  }
  if (why !== undefined) throw RouteError.unsafePattern(route, source, why);
}
