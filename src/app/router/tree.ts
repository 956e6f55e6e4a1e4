/**
 * The router's tree: one radix tree per method, built at registration. A node holds static
 * text; its children are keyed by their first character; a param edge leads on to the node
 * after the param (whose text starts with "/"); leaves hold the registered routes. The walk
 * over it, at lookup, lives in router.ts.
 */
import { buildGeneric, type ParamsBuilder, paramsBuilder } from './params.ts';
import type { SegmentMatcher } from './pattern-automaton.ts';
import type { ParamPiece, Piece } from './route-path.ts';
import type { Params, RouteMatch } from './types.ts';

/** One registered route, at the end of its branch. */
export class Leaf {
  value: unknown;
  /** As registered, for RouteMatch.route and conflict messages. */
  route: string;
  /** Param names in path order (`*` last for a wildcard), interned: keyed stores stay cheap. */
  names: string[];
  /** Builds the params object when no param needs decoding (see params.ts). */
  build: ParamsBuilder;
  /** The one answer of a route without params, built once. */
  match: RouteMatch<unknown> | undefined;

  constructor(value: unknown, route: string, names: string[]) {
    this.value = value;
    this.route = route;
    this.names = interned(names);
    this.build = names.length === 0 ? buildGeneric : paramsBuilder(this.names);
    this.match = names.length === 0 ? Object.freeze({ value, params: NO_PARAMS, route }) : undefined;
  }
}

/** A param at a node: what follows it, and whether a route ends with it. */
export class ParamEdge {
  /** `source` compiled to a DFA, for `:name{source}`; undefined for a plain param. */
  matcher: SegmentMatcher | undefined;
  source: string | undefined;
  leaf: Leaf | undefined;
  /** The rest of the routes through this param: a node whose part starts with "/". */
  next: TreeNode | undefined;

  constructor(source: string | undefined, matcher: SegmentMatcher | undefined) {
    this.source = source;
    this.matcher = matcher;
    this.leaf = undefined;
    this.next = undefined;
  }
}

export class TreeNode {
  /** The static text this node consumes; its first character was checked by whoever chose it. */
  part: string;
  /** `part` as char codes: comparing against an array element reads one string, not two. */
  codes: number[];
  /**
   * Static children by the code of their first character, minus `kidBase`: a dense array over
   * the range actually used (an element load beats a Map lookup several times over here). Route
   * text is printable ASCII, so a wider character in a request simply finds no child.
   */
  kids: (TreeNode | undefined)[] | undefined;
  kidBase: number;
  /** Patterned params, tried in registration order before the plain param. */
  patterned: ParamEdge[] | undefined;
  param: ParamEdge | undefined;
  leaf: Leaf | undefined;
  wildcard: Leaf | undefined;

  constructor(part: string) {
    this.part = part;
    this.codes = charCodes(part);
    this.kids = undefined;
    this.kidBase = 0;
    this.patterned = undefined;
    this.param = undefined;
    this.leaf = undefined;
    this.wildcard = undefined;
  }
}

const NO_PARAMS: Params = Object.freeze({}) as Params;

/** Where a route's value goes: a node's leaf or wildcard, or a param's leaf. */
export type Slot = { node: TreeNode; field: 'leaf' | 'wildcard' } | { edge: ParamEdge };

export function occupant(slot: Slot): Leaf | undefined {
  return 'edge' in slot ? slot.edge.leaf : slot.node[slot.field];
}

export function occupy(slot: Slot, leaf: Leaf): void {
  if ('edge' in slot) slot.edge.leaf = leaf;
  else slot.node[slot.field] = leaf;
}

/** Descends from `root` along the pieces, creating and splitting nodes; returns the route's slot. */
export function slotFor(root: TreeNode, pieces: Piece[]): Slot {
  let node = root;
  let edge: ParamEdge | undefined;
  for (const piece of pieces) {
    if (piece.kind === 'static') {
      if (edge !== undefined) {
        // What follows a param starts with "/", like a root.
        if (edge.next === undefined) {
          edge.next = new TreeNode(piece.text);
          node = edge.next;
        } else node = descend(edge.next, piece.text);
        edge = undefined;
      } else node = descend(node, piece.text);
    } else if (piece.kind === 'param') {
      edge = paramEdge(node, piece);
    } else return { node, field: 'wildcard' };
  }
  return edge === undefined ? { node, field: 'leaf' } : { edge };
}

/**
 * Matches `text` from `node` down (text[0] equals node.part[0], or the node is the one that
 * already matched everything before text when called with the node itself), splitting nodes
 * where text diverges; returns the node ending exactly at the end of `text`.
 */
function descend(node: TreeNode, text: string): TreeNode {
  for (;;) {
    const shared = commonPrefix(node.part, text);
    if (shared < node.part.length) split(node, shared);
    if (shared === text.length) return node;
    text = text.slice(shared);
    const code = text.charCodeAt(0);
    const kid = getKid(node, code);
    if (kid === undefined) {
      const created = new TreeNode(text);
      setKid(node, created);
      return created;
    }
    node = kid;
  }
}

/** Splits `node` in place at `at`: it keeps the head, a new child takes the tail and everything else. */
function split(node: TreeNode, at: number): void {
  const tail = new TreeNode(node.part.slice(at));
  tail.kids = node.kids;
  tail.kidBase = node.kidBase;
  tail.patterned = node.patterned;
  tail.param = node.param;
  tail.leaf = node.leaf;
  tail.wildcard = node.wildcard;
  node.part = node.part.slice(0, at);
  node.codes = charCodes(node.part);
  node.kids = undefined;
  node.kidBase = 0;
  node.patterned = undefined;
  node.param = undefined;
  node.leaf = undefined;
  node.wildcard = undefined;
  setKid(node, tail);
}

function getKid(node: TreeNode, code: number): TreeNode | undefined {
  const k = code - node.kidBase;
  return node.kids !== undefined && k >= 0 && k < node.kids.length ? node.kids[k] : undefined;
}

/** Route text is printable ASCII (route-path.ts encodes the rest), so codes stay below 127. */
function setKid(node: TreeNode, kid: TreeNode): void {
  const code = kid.part.charCodeAt(0);
  const old = node.kids;
  if (old === undefined) {
    node.kids = [kid];
    node.kidBase = code;
    return;
  }
  const base = Math.min(node.kidBase, code);
  const top = Math.max(node.kidBase + old.length - 1, code);
  // A packed array of undefined and nodes (never holes), so element loads stay on the fast path.
  const kids: (TreeNode | undefined)[] = [];
  for (let c = base; c <= top; c++) kids.push(c === code ? kid : old[c - node.kidBase]);
  node.kids = kids;
  node.kidBase = base;
}

function paramEdge(node: TreeNode, piece: ParamPiece): ParamEdge {
  const source = piece.pattern;
  if (source === undefined) {
    node.param ??= new ParamEdge(undefined, undefined);
    return node.param;
  }
  node.patterned ??= [];
  let edge = node.patterned.find((e) => e.source === source);
  if (edge === undefined) {
    edge = new ParamEdge(source, piece.matcher);
    node.patterned.push(edge);
  }
  return edge;
}

function charCodes(text: string): number[] {
  const codes: number[] = [];
  for (let i = 0; i < text.length; i++) codes.push(text.charCodeAt(i));
  return codes;
}

function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** `/posts/:id?` also registers `/posts`: the pieces without the last param and its "/". */
export function withoutLastParam(pieces: Piece[], names: string[]): { pieces: Piece[]; names: string[] } {
  const out = pieces.slice(0, -1);
  const last = out.pop();
  if (last?.kind === 'static') {
    const text = last.text.length > 1 ? last.text.slice(0, -1) : last.text;
    if (text !== '/' || out.length === 0) out.push({ kind: 'static', text });
  }
  return { pieces: out, names: names.slice(0, -1) };
}

/** Property names as V8 keeps them internally, so the params' keyed stores skip a lookup. */
function interned(names: string[]): string[] {
  const probe: Record<string, true> = {};
  for (const name of names) probe[name] = true;
  const keys = Object.keys(probe);
  return names.map((name) => keys[keys.indexOf(name)]!);
}
