/**
 * Building params objects fast without generating code.
 *
 * A route's params object is `{ [names[i]]: path.slice(bounds[2i], bounds[2i + 1]) }`. Written
 * once as a loop, every route's stores go through one store site in the source, which V8 then
 * treats as megamorphic (one inline cache per site, and a site that sees many shapes and names
 * falls back to a generic store): about 10 ns a property on the reference machine, a fifth of
 * a lookup. Generating a builder per route with `new Function` would fix it, but strata does
 * not generate code on its default path.
 *
 * So each distinct list of param names (`owner,repo`, `id`, …), up to `BUILDERS.length` per
 * process in order of first registration, gets a builder of its own below. The builders are
 * the same text on purpose: each is a separate function, so each has its own store sites, and
 * each site only ever sees one name on one shape, which V8 compiles to a plain field store.
 * Measured over the 203 GitHub routes: median lookup 122 → 102 ns (bench/router.ts). Name
 * lists beyond the pool share `buildGeneric`: slower, same result. The tests run both.
 */
import type { Params } from './types.ts';

/** Builds the params of one route from its names and the param bounds of the current lookup. */
export type ParamsBuilder = (names: string[], path: string, bounds: Int32Array) => Params;

function cut(path: string, bounds: Int32Array, i: number): string {
  return path.slice(bounds[2 * i]!, bounds[2 * i + 1]!);
}

function more(o: Params, n: string[], p: string, c: Int32Array): void {
  for (let i = 3; i < n.length; i++) o[n[i]!] = cut(p, c, i);
}

/** The builder for name lists beyond the pool: one shared (megamorphic) store site. */
export function buildGeneric(names: string[], path: string, bounds: Int32Array): Params {
  const o: Params = {};
  for (let i = 0; i < names.length; i++) o[names[i]!] = cut(path, bounds, i);
  return o;
}

// biome-ignore format: one builder a line, identical on purpose (see the comment at the top)
const BUILDERS: ParamsBuilder[] = [
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
  (n, p, c) => { const o: Params = {}; o[n[0]!] = cut(p, c, 0); if (n.length > 1) { o[n[1]!] = cut(p, c, 1); if (n.length > 2) { o[n[2]!] = cut(p, c, 2); if (n.length > 3) more(o, n, p, c); } } return o; },
];

/** How many distinct name lists get a builder of their own, per process. */
export const PARAMS_BUILDER_POOL_SIZE: number = BUILDERS.length;

const assigned = new Map<string, ParamsBuilder>();

/**
 * The builder for a list of param names: its own from the pool while the pool lasts (the same
 * list always gets the same builder), the generic one after.
 */
export function paramsBuilder(names: string[]): ParamsBuilder {
  const key = names.join('/');
  let builder = assigned.get(key);
  if (builder === undefined) {
    builder = BUILDERS[assigned.size] ?? buildGeneric;
    if (assigned.size < BUILDERS.length) assigned.set(key, builder);
  }
  return builder;
}
