/**
 * The app's router: one radix tree per method over the raw path characters.
 *
 * Static text is compared character by character in place (no split, no slice); a param takes
 * the text up to the next `/`; a trailing `*` takes the rest. At each node static children are
 * tried before params before the wildcard, with backtracking when a branch dead-ends, so
 * `/a/b/c` still matches `/a/:x/c` beside a static `/a/b`. Params are percent-decoded only when
 * they contain `%`; malformed encoding answers `'malformed'` (the app turns it into 400), never
 * an exception. No `eval`/`new Function`.
 */

import { AppError } from './errors.ts';

export interface RouteMatch<T> {
  value: T;
  params: Record<string, string>;
}

/** A route the router refuses at registration (conflict, invalid syntax, unsafe pattern). */
export class RouteError extends AppError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'RouteError';
  }
}

// Nested quantifiers and quantified alternations are where regex backtracking explodes:
// (a+)+, (a*)*, (a|a)*, (.*){2,}. Backreferences and lookarounds are refused outright.
const QUANTIFIER_AFTER_GROUP = /\)(?:[*+?]|\{\d+(?:,\d*)?\})/;

/** Refuses per-param patterns that could backtrack catastrophically (path-to-regexp's ReDoS lesson). */
export function assertSafePattern(source: string, route: string): void {
  const unsafe = (why: string): RouteError =>
    new RouteError(
      'STRATA_ERR_ROUTE_PATTERN_UNSAFE',
      `Route ${route}: pattern {${source}} ${why}; use a simple character class with one quantifier, e.g. {[0-9]+}`,
    );
  if (source.length > 100) throw unsafe('is longer than 100 characters');
  if (/\\[1-9]|\\k<|\(\?[=!<]/.test(source)) throw unsafe('uses a backreference or lookaround');
  // Find each group, and whether it holds a quantifier or an alternation and is quantified.
  const stack: { quantified: boolean; alternation: boolean }[] = [];
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (ch === '[') {
      const end = source.indexOf(']', i + 1);
      if (end === -1) throw unsafe('has an unterminated character class');
      i = end;
      const after = source[i + 1];
      if (stack.length > 0 && (after === '*' || after === '+' || after === '{'))
        stack.at(-1)!.quantified = true;
      continue;
    }
    if (ch === '(') stack.push({ quantified: false, alternation: false });
    else if (ch === '|') {
      if (stack.length > 0) stack.at(-1)!.alternation = true;
      else if (/[*+{]/.test(source)) throw unsafe('mixes top-level alternation with quantifiers');
    } else if (ch === ')') {
      const group = stack.pop();
      if (group === undefined) throw unsafe('has an unbalanced ")"');
      if (QUANTIFIER_AFTER_GROUP.test(source.slice(i, i + 12)) && source[i + 1] !== '?') {
        if (group.quantified) throw unsafe('nests quantifiers');
        if (group.alternation) throw unsafe('quantifies an alternation');
        if (stack.length > 0) stack.at(-1)!.quantified = true;
      } else if (group.quantified && stack.length > 0) stack.at(-1)!.quantified = true;
    } else if ((ch === '*' || ch === '+' || ch === '{') && stack.length > 0) stack.at(-1)!.quantified = true;
  }
  if (stack.length > 0) throw unsafe('has an unbalanced "("');
  try {
    new RegExp(`^(?:${source})$`);
  } catch (err) {
    throw unsafe(`is not a valid regular expression (${(err as Error).message})`);
  }
}

interface Leaf {
  value: unknown;
  /** The route as registered, for conflict messages. */
  route: string;
  /** Param names in path order; `*` last for a wildcard. */
  names: string[];
  /** For a route without params, the one answer every lookup shares (nothing allocated). */
  match: RouteMatch<unknown> | undefined;
}

const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

function leafOf(value: unknown, route: string, names: string[]): Leaf {
  return {
    value,
    route,
    names,
    match: names.length === 0 ? Object.freeze({ value, params: NO_PARAMS }) : undefined,
  };
}

interface ParamNode {
  name: string;
  source: string | undefined;
  pattern: RegExp | undefined;
  /** A route that uses this param, for conflict messages. */
  route: string;
  leaf: Leaf | undefined;
  /** What follows the param: a node whose text starts with `/`. */
  next: RadixNode | undefined;
}

interface RadixNode {
  /** The static text this node consumes. */
  part: string;
  /**
   * Static children by the char code of their first character: an array indexed by code (an
   * element load is several times cheaper than Map.get on this path); codes ≥ 128 go to `wide`.
   */
  children: (RadixNode | undefined)[] | undefined;
  wide: Map<number, RadixNode> | undefined;
  /** Params at this position; patterned ones before the catch-all. */
  params: ParamNode[] | undefined;
  leaf: Leaf | undefined;
  wildcard: Leaf | undefined;
}

function node(part: string): RadixNode {
  return {
    part,
    children: undefined,
    wide: undefined,
    params: undefined,
    leaf: undefined,
    wildcard: undefined,
  };
}

/** A route path cut into static text and params: `/a/:b/c` → ['/a/', {b}, '/c']. */
type Piece = string | { name: string; source: string | undefined } | '*';

function parsePath(path: string): Piece[] {
  if (path.charCodeAt(0) !== 47)
    throw new RouteError('STRATA_ERR_ROUTE_INVALID', `Route ${path} must start with "/"`);
  const pieces: Piece[] = [];
  const segments = path.split('/');
  let text = '';
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    text += '/';
    if (seg === '*' && last) {
      pieces.push(text, '*');
      return pieces;
    }
    if (seg.charCodeAt(0) === 58 /* : */) {
      const parsed = /^:([A-Za-z_$][\w$]*)(?:\{(.+)\})?$/.exec(seg);
      if (parsed === null) {
        throw new RouteError(
          'STRATA_ERR_ROUTE_INVALID',
          `Route ${path}: bad param segment "${seg}"; write :name, :name? (last segment) or :name{pattern}`,
        );
      }
      if (parsed[2] !== undefined) assertSafePattern(parsed[2], path);
      pieces.push(text, { name: parsed[1]!, source: parsed[2] });
      text = '';
      continue;
    }
    if (seg.includes('*') || seg.includes(':')) {
      throw new RouteError(
        'STRATA_ERR_ROUTE_INVALID',
        `Route ${path}: "${seg}" mixes text with ":" or "*"; a param takes a whole segment and "*" only the last one`,
      );
    }
    text += seg;
  }
  pieces.push(text);
  return pieces;
}

function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

function getChild(n: RadixNode, code: number): RadixNode | undefined {
  return code < 128 ? n.children?.[code] : n.wide?.get(code);
}

function setChild(n: RadixNode, code: number, child: RadixNode): void {
  if (code < 128) {
    // Filled with undefined up front: a packed array keeps element loads on the fast path.
    n.children ??= new Array<RadixNode | undefined>(128).fill(undefined);
    n.children[code] = child;
  } else {
    n.wide ??= new Map();
    n.wide.set(code, child);
  }
}

/** Descends through `text`, splitting nodes where it diverges; returns the node that ends it. */
function insertText(at: RadixNode, text: string): RadixNode {
  let current = at;
  let rest = text;
  // The node's own part was matched by the caller up to here; continue into children.
  while (rest.length > 0) {
    const code = rest.charCodeAt(0);
    const child = getChild(current, code);
    if (child === undefined) {
      const created = node(rest);
      setChild(current, code, created);
      return created;
    }
    const shared = commonPrefix(child.part, rest);
    if (shared < child.part.length) {
      // Split: child keeps its tail under a new node holding the shared head.
      const head = node(child.part.slice(0, shared));
      child.part = child.part.slice(shared);
      setChild(head, child.part.charCodeAt(0), child);
      setChild(current, code, head);
      current = head;
    } else current = child;
    rest = rest.slice(shared);
  }
  return current;
}

const MALFORMED = 'malformed';
const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'QUERY'];

// Lookup scratch: param values found on the current branch. Lookups are synchronous and never
// re-entrant, so one array serves every table without allocating per request.
const VALUES: string[] = [];
let depth = 0;

function match(n: RadixNode, path: string, start: number): Leaf | undefined {
  const part = n.part;
  const end = start + part.length;
  const length = path.length;
  if (end > length) return undefined;
  // part[0] was checked by the parent's child map (or is the root's "/").
  for (let i = 1; i < part.length; i++)
    if (part.charCodeAt(i) !== path.charCodeAt(start + i)) return undefined;
  if (end === length) {
    if (n.leaf !== undefined) return n.leaf;
    if (n.wildcard !== undefined) {
      VALUES[depth++] = '';
      return n.wildcard;
    }
    return undefined;
  }
  const code = path.charCodeAt(end);
  const children = n.children;
  if (children !== undefined || n.wide !== undefined) {
    const child = code < 128 ? children?.[code] : n.wide?.get(code);
    if (child !== undefined) {
      const found = match(child, path, end);
      if (found !== undefined) return found;
    }
  }
  const params = n.params;
  if (params !== undefined) {
    let stop = path.indexOf('/', end);
    if (stop === -1) stop = length;
    if (stop > end) {
      const saved = depth;
      for (let i = 0; i < params.length; i++) {
        const param = params[i]!;
        const value = path.slice(end, stop);
        if (param.pattern !== undefined && !param.pattern.test(value)) continue;
        VALUES[depth++] = value;
        if (stop === length) {
          if (param.leaf !== undefined) return param.leaf;
        } else if (param.next !== undefined) {
          const found = match(param.next, path, stop);
          if (found !== undefined) return found;
        }
        depth = saved;
      }
    }
  }
  if (n.wildcard !== undefined) {
    VALUES[depth++] = path.slice(end);
    return n.wildcard;
  }
  return undefined;
}

function decodeParam(raw: string): string | undefined {
  if (raw.indexOf('%') === -1) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/**
 * Maps `method path` to a value with params. Register with `add`, look up with `find`, and ask
 * `allowed` which methods a path has (for 405 `Allow` and automatic OPTIONS).
 *
 * Path syntax: static segments, `:name` (one segment), `:name{regex}` (one segment matching
 * the regex, checked for catastrophic backtracking), `:name?` (optional, last segment only) and
 * a trailing `*` (the rest of the path, as param `*`; `/files/*` matches `/files/` and below,
 * not `/files`).
 *
 * @example
 * const table = new RouteTable<string>();
 * table.add('GET', '/users/:id', 'user');
 * table.find('GET', '/users/42'); // { value: 'user', params: { id: '42' } }
 */
export class RouteTable<T> {
  #roots: Map<string, RadixNode>;

  constructor() {
    this.#roots = new Map();
  }

  /** Adds a route; one that would match the same requests as an existing route is refused, naming both. */
  add(method: string, path: string, value: T): void {
    const optional = /\/:([A-Za-z_$][\w$]*)(\{.+\})?\?$/.exec(path);
    if (optional !== null) {
      // `/posts/:id?` is `/posts` and `/posts/:id`.
      const base = path.slice(0, optional.index);
      this.add(method, base === '' ? '/' : base, value);
      this.add(method, path.slice(0, -1), value);
      return;
    }
    const pieces = parsePath(path);
    let root = this.#roots.get(method);
    if (root === undefined) {
      root = node('/');
      this.#roots.set(method, root);
    }
    const names: string[] = [];
    let current = root;
    let first = true;
    for (const piece of pieces) {
      if (typeof piece === 'string' && piece !== '*') {
        // The root already consumed the leading "/".
        current = insertText(current, first ? piece.slice(1) : piece);
        first = false;
        continue;
      }
      first = false;
      if (piece === '*') {
        names.push('*');
        const leaf = leafOf(value, path, names);
        if (current.wildcard !== undefined) throw conflict(method, path, current.wildcard.route);
        current.wildcard = leaf;
        return;
      }
      if (names.includes(piece.name)) {
        throw new RouteError('STRATA_ERR_ROUTE_INVALID', `Route ${path}: param :${piece.name} appears twice`);
      }
      names.push(piece.name);
      current.params ??= [];
      let param = current.params.find((p) => p.source === piece.source);
      if (param !== undefined && param.name !== piece.name) {
        throw new RouteError(
          'STRATA_ERR_ROUTE_CONFLICT',
          `Route ${method} ${path} conflicts with ${method} ${param.route}: the same segment is :${param.name} there and :${piece.name} here; use one name`,
        );
      }
      if (param === undefined) {
        param = {
          name: piece.name,
          source: piece.source,
          pattern: piece.source === undefined ? undefined : new RegExp(`^(?:${piece.source})$`),
          route: path,
          leaf: undefined,
          next: undefined,
        };
        if (piece.source === undefined) current.params.push(param);
        else current.params.unshift(param);
      }
      // What follows a param starts with "/": the next piece, or nothing.
      const holder = param;
      const after = pieces[pieces.indexOf(piece) + 1];
      if (after === undefined || after === '') {
        if (holder.leaf !== undefined) throw conflict(method, path, holder.leaf.route);
        holder.leaf = leafOf(value, path, names);
        return;
      }
      holder.next ??= node('/');
      current = holder.next;
      first = true;
    }
    if (current.leaf !== undefined) throw conflict(method, path, current.leaf.route);
    current.leaf = leafOf(value, path, names);
  }

  /**
   * The value and params for `method path` (HEAD falls back to GET), `null` when nothing
   * matches, or `'malformed'` when a param has bad percent-encoding. `path` is the pathname
   * only, without the query string.
   */
  find(method: string, path: string): RouteMatch<T> | null | typeof MALFORMED {
    let leaf = this.#lookup(method, path);
    if (leaf === undefined && method === 'HEAD') leaf = this.#lookup('GET', path);
    if (leaf === undefined) return null;
    if (leaf.match !== undefined) return leaf.match as RouteMatch<T>;
    const names = leaf.names;
    const params: Record<string, string> = {};
    // One scan of the whole path decides whether any value needs decoding (most paths carry
    // no '%'): cheaper than a scan and a call per value.
    if (path.indexOf('%') === -1) {
      for (let i = 0; i < names.length; i++) params[names[i]!] = VALUES[i]!;
    } else {
      for (let i = 0; i < names.length; i++) {
        const decoded = decodeParam(VALUES[i]!);
        if (decoded === undefined) return MALFORMED;
        params[names[i]!] = decoded;
      }
    }
    return { value: leaf.value as T, params };
  }

  #lookup(method: string, path: string): Leaf | undefined {
    const root = this.#roots.get(method);
    if (root === undefined || path.charCodeAt(0) !== 47) return undefined;
    depth = 0;
    return match(root, path, 0);
  }

  /** The methods registered for a path (for 405 `Allow` and automatic OPTIONS). */
  allowed(path: string): string[] {
    const out: string[] = [];
    for (const method of this.#roots.keys()) if (this.#lookup(method, path) !== undefined) out.push(method);
    return out.sort((a, b) => rank(a) - rank(b));
  }
}

function rank(method: string): number {
  const i = KNOWN_METHODS.indexOf(method);
  return i === -1 ? KNOWN_METHODS.length : i;
}

function conflict(method: string, path: string, existing: string): RouteError {
  return new RouteError(
    'STRATA_ERR_ROUTE_CONFLICT',
    `Route ${method} ${path} conflicts with ${method} ${existing}: both match the same requests; remove one or make them differ`,
  );
}
