/**
 * Route path syntax, parsed once at registration into static text, params and a wildcard.
 * The grammar is documented on `Router` (router.ts).
 */
import { RouteError } from './errors.ts';
import type { SegmentMatcher } from './pattern-automaton.ts';
import { compilePattern } from './safe-pattern.ts';

/** Most params one route may have (the lookup's scratch space is sized by it). */
export const MAX_PARAMS = 32;

export interface StaticPiece {
  kind: 'static';
  text: string;
}
export interface ParamPiece {
  kind: 'param';
  name: string;
  /** The regex source between the braces, or undefined for any non-empty segment. */
  pattern: string | undefined;
  /** `pattern` compiled (safe-pattern.ts), or undefined for a plain param. */
  matcher: SegmentMatcher | undefined;
}
export interface WildcardPiece {
  kind: 'wildcard';
}
export type Piece = StaticPiece | ParamPiece | WildcardPiece;

/**
 * A parsed route: `/repos/:owner/:repo/*` → static `/repos/`, param owner, static `/`, param
 * repo, static `/`, wildcard. Static pieces are never empty; params are followed by static
 * text starting with "/" or by nothing.
 */
export interface ParsedRoute {
  pieces: Piece[];
  /** Param names in path order, with "*" last for a wildcard. */
  names: string[];
  /** The last param is optional (`:id?`): the route also matches without that segment. */
  optional: boolean;
}

const NAME_START = /[A-Za-z_$]/;
const NAME_CHAR = /[\w$]/;

/** Parses a route path; throws `RouteError` (`STRATA_ERR_ROUTE_INVALID`, `…_PATTERN_UNSAFE`). */
export function parseRoutePath(path: string): ParsedRoute {
  if (typeof path !== 'string' || path.charCodeAt(0) !== 47 /* / */) {
    throw RouteError.invalid(String(path), 'a route path must start with "/"', `write "/${String(path)}"`);
  }
  const pieces: Piece[] = [];
  const names: string[] = [];
  let optional = false;
  let text = '';
  let i = 0;
  const length = path.length;
  while (i < length) {
    // Here path[i] is "/": the start of a segment.
    text += '/';
    i++;
    const ch = path[i];
    if (ch === ':') {
      if (text !== '') pieces.push({ kind: 'static', text });
      text = '';
      i = parseParam(path, i, pieces, names);
      if (path[i] === '?') {
        i++;
        if (i !== length)
          throw RouteError.invalid(
            path,
            'only the last segment can be optional',
            'move the "?" param to the end, or register two routes',
          );
        optional = true;
      }
      if (i < length && path[i] !== '/') {
        throw RouteError.invalid(
          path,
          `a param must take a whole segment, but "${path.slice(i, path.indexOf('/', i) >>> 0)}" follows :${names.at(-1)}`,
          'put the param in its own segment (mid-segment params like /:from-:to are not supported)',
        );
      }
      continue;
    }
    if (ch === '*' && (i + 1 === length || path[i + 1] === '/')) {
      if (i + 1 !== length)
        throw RouteError.invalid(path, 'a wildcard "*" must be the last segment', 'remove what follows "/*"');
      pieces.push({ kind: 'static', text }, { kind: 'wildcard' });
      names.push('*');
      text = '';
      i++;
      break;
    }
    // A static segment: up to the next "/".
    let end = path.indexOf('/', i);
    if (end === -1) end = length;
    const segment = path.slice(i, end);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
    const bad = /[*?#\s\x00-\x1f\x7f]/.exec(segment);
    if (bad !== null) {
      throw RouteError.invalid(
        path,
        `the static segment "${segment}" contains ${JSON.stringify(bad[0])}`,
        bad[0] === '*'
          ? 'a wildcard takes a whole last segment: write /prefix/*'
          : 'a route path holds no query, fragment or whitespace; percent-encode the character',
      );
    }
    text += encodeWide(path, segment);
    i = end;
  }
  if (text !== '') pieces.push({ kind: 'static', text });
  if (names.length > MAX_PARAMS)
    throw RouteError.invalid(path, `it has ${names.length} params`, `keep to ${MAX_PARAMS} or fewer`);
  return { pieces, names, optional };
}

/** Parses `:name` or `:name{pattern}` at `i` (the ":"); returns the index after it. */
function parseParam(path: string, i: number, pieces: Piece[], names: string[]): number {
  let j = i + 1;
  if (!NAME_START.test(path[j] ?? '')) {
    throw RouteError.invalid(
      path,
      `the param at ${i} has no name (a name starts with a letter, "_" or "$")`,
      'write :name',
    );
  }
  while (j < path.length && NAME_CHAR.test(path[j]!)) j++;
  const name = path.slice(i + 1, j);
  // A plain object would take `__proto__` as its prototype, not as a param.
  if (name === '__proto__')
    throw RouteError.invalid(path, 'the param name __proto__ is reserved', 'choose another name');
  if (names.includes(name))
    throw RouteError.invalid(path, `the param :${name} appears twice`, 'give each param its own name');
  let pattern: string | undefined;
  let matcher: SegmentMatcher | undefined;
  if (path[j] === '{') {
    const close = closingBrace(path, j);
    pattern = path.slice(j + 1, close);
    matcher = compilePattern(pattern, path);
    j = close + 1;
  }
  names.push(name);
  pieces.push({ kind: 'param', name, pattern, matcher });
  return j;
}

/** The index of the "}" closing the "{" at `open`, skipping escapes, classes and quantifier braces. */
function closingBrace(path: string, open: number): number {
  let depth = 0;
  let inClass = false;
  for (let k = open; k < path.length; k++) {
    const ch = path[k];
    if (ch === '\\') k++;
    else if (inClass) inClass = ch !== ']';
    else if (ch === '[') inClass = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return k;
  }
  throw RouteError.invalid(path, `the pattern opened at ${open} is not closed`, 'close it with "}"');
}

/**
 * Clients send non-ASCII path characters as UTF-8 percent-escapes (WHATWG URL serialisation;
 * Node hands raw bytes over as latin1), so static text is stored in that form: `/café` matches
 * the request path `/caf%C3%A9`. ASCII, including any `%XX` the route already holds, is kept.
 */
function encodeWide(path: string, segment: string): string {
  try {
    return segment.replace(/[^\u0020-\u007e]+/g, encodeURIComponent);
  } catch {
    throw RouteError.invalid(path, `the segment "${segment}" holds a lone surrogate`, 'fix the text');
  }
}
