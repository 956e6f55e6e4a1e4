/** strata's HTTP router: what the app layer imports. */
export { RouteError, type RouteErrorCode } from './errors.ts';
export {
  MAX_PATTERN_POSITIONS,
  MAX_PATTERN_SEGMENT_LENGTH,
  MAX_PATTERN_STATES,
  SegmentMatcher,
} from './pattern-automaton.ts';
export { MAX_PARAMS } from './route-path.ts';
export { Router } from './router.ts';
export { assertSafePattern, compilePattern, MAX_PATTERN_LENGTH } from './safe-pattern.ts';
export { type HttpRouter, type LookupResult, MALFORMED, type Params, type RouteMatch } from './types.ts';
