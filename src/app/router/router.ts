/**
 * strata's router: one radix tree per method, walked over the raw path with `charCodeAt`.
 *
 * The walk never splits the path or slices it before a route is found: param bounds go into a
 * shared `Int32Array`, and only the winning route's params are sliced (and decoded when the
 * path holds a `%`). Lookups are synchronous and never re-entrant, so one scratch array serves
 * every router. Each tree node is visited at most once per lookup (a param always ends at the
 * next "/"), so the walk is linear in the size of the tree whatever the path.
 */

import { isToken } from '../../gateway/http.ts';
import { RouteError } from './errors.ts';
import { MAX_PARAMS, type Piece, parseRoutePath } from './route-path.ts';
import {
  Leaf,
  occupant,
  occupy,
  type ParamEdge,
  type Slot,
  slotFor,
  TreeNode,
  withoutLastParam,
} from './tree.ts';
import { type HttpRouter, type LookupResult, MALFORMED, type Params, type RouteMatch } from './types.ts';

/** Param bounds of the current lookup: start and end of param i at 2i and 2i + 1. */
const CAPTURES = new Int32Array(2 * MAX_PARAMS);
/** FLAGS[0] is set when a param or wildcard may hold a "%" or a "?" (then find() takes its careful path). */
const FLAGS = new Int32Array(1);

const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * An HTTP router: maps `method path` to a value of your choice and the path's params.
 *
 * Route syntax:
 * - static text: `/users/me` (matched character by character against the raw, still
 *   percent-encoded path; non-ASCII text is stored as UTF-8 percent-escapes, as clients send it);
 * - `:name`: one whole, non-empty segment (`/users/:id`); a name is `[A-Za-z_$][A-Za-z0-9_$]*`.
 *   A `:` later in a segment is plain text (`/v1/things:batchGet`); params inside a segment
 *   (`/:from-:to`) are not supported and refused;
 * - `:name{regex}`: one segment the regex matches whole (`/users/:id{[0-9]+}`), tested on the
 *   raw segment of at most `MAX_PATTERN_SEGMENT_LENGTH` characters; the regex is compiled at
 *   registration to a DFA that reads each character once, never backtracking (see
 *   `assertSafePattern` for the accepted subset);
 * - `:name?` (last segment only): optional, `/posts/:id?` matches `/posts` and `/posts/7`;
 * - `*` (last segment only): the rest of the path, possibly empty, as param `*`;
 *   `/files/*` matches `/files/` and `/files/a/b`, not `/files`.
 *
 * Priority at every position: static text, then patterned params in registration order, then
 * the plain param, then the wildcard; when a branch dead-ends the walk backtracks, so `/a/b/c`
 * matches `/a/:x/c` beside a static `/a/b`. Matching is strict about trailing slashes (`/a` and
 * `/a/` differ; `alternate()` tells the app when the other form exists, to redirect).
 *
 * Lookups take the pathname, without the query string (a `?` and what follows is ignored,
 * defensively); they never throw, and allocate nothing but the params object and the match (a
 * route without params answers one shared frozen match). Params are percent-decoded
 * (`decodeURIComponent`, only when they hold a `%`); a malformed escape answers `MALFORMED`.
 * Static text is never decoded (`/users/m%65` does not match `/users/me`), and dot segments are
 * not resolved: a param or wildcard hands `..` over as is, as it does NUL or control
 * characters, for the handler to judge.
 *
 * @example
 * const router = new Router<string>();
 * router.add('GET', '/users/:id{[0-9]+}', 'show user');
 * router.add('GET', '/files/*', 'file');
 * router.find('GET', '/users/42');   // { value: 'show user', params: { id: '42' }, route: '/users/:id{[0-9]+}' }
 * router.find('GET', '/files/a/b');  // { value: 'file', params: { '*': 'a/b' }, route: '/files/*' }
 * router.find('GET', '/users/x');    // null
 * router.allowed('/users/42');       // ['GET']
 */
export class Router<T> implements HttpRouter<T> {
  /** Methods and their trees, side by side: a scan of a few `===` beats a Map lookup here. */
  #methods: string[];
  #trees: TreeNode[];

  constructor() {
    this.#methods = [];
    this.#trees = [];
  }

  #tree(method: string): TreeNode | undefined {
    const methods = this.#methods;
    for (let i = 0; i < methods.length; i++) if (methods[i] === method) return this.#trees[i];
    return undefined;
  }

  /**
   * Registers `value` for `method path`. Throws a `RouteError`: `STRATA_ERR_ROUTE_CONFLICT`
   * when a route of the same method already answers the same requests (the message names
   * both), `STRATA_ERR_ROUTE_INVALID` for a path or method it cannot parse,
   * `STRATA_ERR_ROUTE_PATTERN_UNSAFE` for a param regex outside the supported subset or too
   * large to compile.
   * A refused route leaves the router as it was.
   */
  add(method: string, path: string, value: T): void {
    const { root, created, slots, variants } = this.#place(method, path);
    slots.forEach((slot, i) => {
      occupy(slot, new Leaf(value, path, variants[i]!.names));
    });
    if (created) {
      this.#methods.push(method);
      this.#trees.push(root);
    }
  }

  /**
   * Throws the `RouteError` that `add(method, path, …)` would throw, and registers nothing: for
   * callers that must check a route against several routers before adding it to any.
   */
  check(method: string, path: string): void {
    this.#place(method, path);
  }

  /** Finds the slots a route would take; throws when it cannot take them. */
  #place(
    method: string,
    path: string,
  ): { root: TreeNode; created: boolean; slots: Slot[]; variants: { pieces: Piece[]; names: string[] }[] } {
    if (typeof method !== 'string' || !isToken(method)) {
      throw RouteError.invalid(
        `${String(method)} ${path}`,
        'the method is not an HTTP token',
        'use a method name such as GET',
      );
    }
    const parsed = parseRoutePath(path);
    const variants: { pieces: Piece[]; names: string[] }[] = [{ pieces: parsed.pieces, names: parsed.names }];
    if (parsed.optional) variants.push(withoutLastParam(parsed.pieces, parsed.names));
    let root = this.#tree(method);
    const created = root === undefined;
    root ??= new TreeNode('/');
    // Find every slot first, so that a conflict leaves nothing half-registered. Nodes created
    // on the way hold no route, so they match nothing.
    const slots = variants.map((v) => slotFor(root, v.pieces));
    for (const slot of slots) {
      const existing = occupant(slot);
      if (existing !== undefined) {
        const why =
          existing.route === path
            ? 'the same path is registered twice'
            : 'both match the same requests (param names alone do not tell routes apart)';
        throw RouteError.conflict(method, path, existing.route, why);
      }
    }
    return { root, created, slots, variants };
  }

  /**
   * The route for `method path`: its value, params and pattern; `null` when none matches; or
   * `MALFORMED` when the route's params hold malformed percent-encoding (answer 400). Methods
   * are separate tables: the app decides whether HEAD falls back to GET.
   */
  find(method: string, path: string): LookupResult<T> {
    const root = this.#tree(method);
    if (root === undefined || path.charCodeAt(0) !== 47) return null;
    FLAGS[0] = 0;
    const leaf = walk(root, path, 0, path.length, 0);
    // Static text never holds "?", so a path with a query can only have matched through a
    // param or a wildcard, whose scan set FLAGS; a miss is retried without the query.
    if (leaf === undefined) return path.indexOf('?') === -1 ? null : this.#findPathname(root, path);
    if (leaf.match !== undefined) return leaf.match as RouteMatch<T>;
    if (FLAGS[0] !== 0) return this.#findCareful(root, path, leaf);
    return { value: leaf.value as T, params: leaf.build(leaf.names, path, CAPTURES), route: leaf.route };
  }

  /** The slow path: a "%" or "?" was seen, or a wildcard matched. */
  #findCareful(root: TreeNode, path: string, leaf: Leaf): LookupResult<T> {
    const names = leaf.names;
    const count = names.length;
    const query = path.indexOf('?', CAPTURES[0]!);
    if (query !== -1 && query < CAPTURES[2 * count - 1]!) return this.#findPathname(root, path);
    const params: Params = {};
    for (let i = 0; i < count; i++) {
      const value = decodeParam(path.slice(CAPTURES[2 * i]!, CAPTURES[2 * i + 1]!));
      if (value === undefined) return MALFORMED;
      params[names[i]!] = value;
    }
    return { value: leaf.value as T, params, route: leaf.route };
  }

  /** Looks `path` up again without its query string. */
  #findPathname(root: TreeNode, path: string): LookupResult<T> {
    const end = path.indexOf('?');
    if (end === -1) return null;
    FLAGS[0] = 0;
    const leaf = walk(root, path, 0, end, 0);
    if (leaf === undefined) return null;
    if (leaf.match !== undefined) return leaf.match as RouteMatch<T>;
    return this.#findCareful(root, path.slice(0, end), leaf);
  }

  /**
   * The methods with a route for `path`, in the usual order (GET, HEAD, POST, PUT, PATCH,
   * DELETE, OPTIONS, then others alphabetically); empty when no method has one. The app
   * answers 405 with this list as `Allow` (adding HEAD for GET and OPTIONS if it serves them).
   */
  allowed(path: string): string[] {
    const out: string[] = [];
    if (path.charCodeAt(0) !== 47) return out;
    let end = path.indexOf('?');
    if (end === -1) end = path.length;
    this.#methods.forEach((method, i) => {
      if (walk(this.#trees[i]!, path, 0, end, 0) !== undefined) out.push(method);
    });
    return out.sort(byMethodOrder);
  }

  /**
   * `path` with its trailing slash toggled (`/a` ↔ `/a/`, the query string kept), when that
   * form has a route for `method` and `path` itself has none; otherwise `null`. Apps that want
   * lenient trailing slashes redirect there (308 keeps the method and body).
   */
  alternate(method: string, path: string): string | null {
    const root = this.#tree(method);
    if (root === undefined || path.charCodeAt(0) !== 47) return null;
    let end = path.indexOf('?');
    if (end === -1) end = path.length;
    if (walk(root, path, 0, end, 0) !== undefined) return null;
    const pathname = path.slice(0, end);
    let other: string;
    if (pathname.endsWith('/')) {
      if (pathname.length === 1) return null;
      other = pathname.slice(0, -1);
    } else other = `${pathname}/`;
    return walk(root, other, 0, other.length, 0) === undefined ? null : other + path.slice(end);
  }
}

/**
 * The walk. `node.part[0]` is already matched (by the parent's index, or by the caller for a
 * root or the node after a param, whose part starts with "/"). Returns the leaf and leaves
 * param bounds in CAPTURES from index 2n on. It loops where no alternative is left to try and
 * recurses only where a branch may dead-end into one (a static child beside a param or a
 * wildcard), which keeps calls few on the common paths.
 */
function walk(node: TreeNode, path: string, pos: number, end: number, n: number): Leaf | undefined {
  for (;;) {
    const codes = node.codes;
    const length = codes.length;
    const stop = pos + length;
    if (stop > end) return undefined;
    for (let i = 1; i < length; i++) if (path.charCodeAt(pos + i) !== codes[i]) return undefined;
    if (stop === end) {
      if (node.leaf !== undefined) return node.leaf;
      if (node.wildcard !== undefined) {
        CAPTURES[2 * n] = stop;
        CAPTURES[2 * n + 1] = end;
        return node.wildcard;
      }
      return undefined;
    }
    const param = node.param;
    const patterned = node.patterned;
    const wildcard = node.wildcard;
    const code = path.charCodeAt(stop);
    const kids = node.kids;
    if (kids !== undefined) {
      const k = code - node.kidBase;
      if (k >= 0 && k < kids.length) {
        const kid = kids[k];
        if (kid !== undefined) {
          if (param === undefined && patterned === undefined && wildcard === undefined) {
            node = kid;
            pos = stop;
            continue;
          }
          const found = walk(kid, path, stop, end, n);
          if (found !== undefined) return found;
        }
      }
    }
    // A param takes a non-empty segment: up to the next "/" or the end. The scan also notes a
    // "%" (decode) or "?" (a query the caller left on) for find() to deal with afterwards.
    if ((param !== undefined || patterned !== undefined) && code !== 47) {
      let slash = stop + 1;
      let c = code;
      for (;;) {
        if (c === 37 || c === 63) FLAGS[0] = 1;
        if (slash === end) break;
        c = path.charCodeAt(slash);
        if (c === 47) break;
        slash++;
      }
      if (patterned !== undefined) {
        const found = walkPatterned(patterned, path, stop, slash, end, n);
        if (found !== undefined) return found;
      }
      if (param !== undefined) {
        CAPTURES[2 * n] = stop;
        CAPTURES[2 * n + 1] = slash;
        if (slash === end) {
          if (param.leaf !== undefined) return param.leaf;
        } else if (param.next !== undefined) {
          if (wildcard === undefined) {
            node = param.next;
            pos = slash;
            n++;
            continue;
          }
          const found = walk(param.next, path, slash, end, n + 1);
          if (found !== undefined) return found;
        }
      }
    }
    if (wildcard !== undefined) {
      CAPTURES[2 * n] = stop;
      CAPTURES[2 * n + 1] = end;
      FLAGS[0] = 1;
      return wildcard;
    }
    return undefined;
  }
}

function walkPatterned(
  edges: ParamEdge[],
  path: string,
  stop: number,
  slash: number,
  end: number,
  n: number,
): Leaf | undefined {
  for (let i = 0; i < edges.length; i++) {
    const edge = edges[i]!;
    // A DFA over the raw segment, in place: one step per character, no slice (safe-pattern.ts).
    if (!edge.matcher!.matches(path, stop, slash)) continue;
    CAPTURES[2 * n] = stop;
    CAPTURES[2 * n + 1] = slash;
    if (slash === end) {
      if (edge.leaf !== undefined) return edge.leaf;
    } else if (edge.next !== undefined) {
      const found = walk(edge.next, path, slash, end, n + 1);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function decodeParam(raw: string): string | undefined {
  if (raw.indexOf('%') === -1) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    // URIError: a malformed escape; the caller answers MALFORMED (400), never throws.
    return undefined;
  }
}

function byMethodOrder(a: string, b: string): number {
  const ia = METHOD_ORDER.indexOf(a);
  const ib = METHOD_ORDER.indexOf(b);
  if (ia !== -1 || ib !== -1)
    return (ia === -1 ? METHOD_ORDER.length : ia) - (ib === -1 ? METHOD_ORDER.length : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}
