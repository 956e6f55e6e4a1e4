/**
 * The balancing algorithms as deterministic functions: each reads a list of candidates and the
 * state it is given (a cursor, the current weights), returns the index of the chosen candidate or
 * -1 when none is eligible, and touches nothing else — no clock, no randomness, no I/O — so a test
 * can state exactly which upstream the n-th pick gets.
 *
 * A candidate is eligible when it is `available` and not in `exclude` (the upstreams a retried
 * request already tried). The state objects are updated in place so that a pick allocates nothing.
 */

/** What an algorithm reads of an upstream. */
export interface Candidate {
  readonly weight: number;
  readonly active: number;
  readonly available: boolean;
}

/** The rotation position of round robin and of least connections' tie-break. */
export interface Cursor {
  next: number;
}

function eligible<C extends Candidate>(c: C, exclude: ReadonlySet<C> | undefined): boolean {
  return c.available && (exclude === undefined || !exclude.has(c));
}

/**
 * Round robin: the first eligible candidate at or after the cursor; the cursor moves past it.
 *
 * @example
 * const cursor = { next: 0 };
 * roundRobin(upstreams, undefined, cursor); // 0, then 1, 2, 0, …
 */
export function roundRobin<C extends Candidate>(
  list: readonly C[],
  exclude: ReadonlySet<C> | undefined,
  cursor: Cursor,
): number {
  const n = list.length;
  for (let i = 0; i < n; i++) {
    const index = (cursor.next + i) % n;
    if (eligible(list[index]!, exclude)) {
      cursor.next = (index + 1) % n;
      return index;
    }
  }
  return -1;
}

/**
 * Smooth weighted round robin, as nginx does it (ngx_http_upstream_get_peer): each eligible
 * candidate's current weight grows by its weight, the largest is chosen and loses the sum of the
 * eligible weights. Weights 5, 1, 1 give `a a b a c a a` — the heavy one spread out, not in a burst.
 * `current` holds one number per candidate (start with zeros).
 */
export function smoothWeighted<C extends Candidate>(
  list: readonly C[],
  exclude: ReadonlySet<C> | undefined,
  current: number[],
): number {
  let best = -1;
  let total = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (!eligible(c, exclude)) continue;
    const w = c.weight;
    current[i] = (current[i] ?? 0) + w;
    total += w;
    if (best === -1 || current[i]! > current[best]!) best = i;
  }
  if (best !== -1) current[best]! -= total;
  return best;
}

/**
 * Least connections: the eligible candidate with the fewest requests in flight per unit of weight
 * (`active / weight`, compared by cross-multiplying, as nginx's least_conn does); among equals the
 * heavier one, and among those the first at or after the cursor, which then moves past it — so
 * idle equals take turns instead of the first one taking every request.
 */
export function leastConnections<C extends Candidate>(
  list: readonly C[],
  exclude: ReadonlySet<C> | undefined,
  cursor: Cursor,
): number {
  const n = list.length;
  let best = -1;
  for (let i = 0; i < n; i++) {
    const index = (cursor.next + i) % n;
    const c = list[index]!;
    if (!eligible(c, exclude)) continue;
    if (best === -1) {
      best = index;
      continue;
    }
    const b = list[best]!;
    const lhs = c.active * b.weight;
    const rhs = b.active * c.weight;
    if (lhs < rhs || (lhs === rhs && c.weight > b.weight)) best = index;
  }
  if (best !== -1) cursor.next = (best + 1) % n;
  return best;
}

/**
 * The 32-bit FNV-1a hash of a string's UTF-16 code units. Any string hashes, lone surrogates and
 * control characters included, so a hostile header or cookie value cannot make a pick throw.
 */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's finaliser: spreads every input bit over the whole word. */
function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Rendezvous (highest random weight) hashing, weighted: each eligible candidate scores
 * `weight / -ln(u)` where `u` in (0, 1) comes from hashing the key with the candidate's `seed`
 * (the hash of its id, so the order of the list does not matter), and the highest score wins.
 *
 * This is consistent hashing without a ring: when a candidate leaves, only the keys it held move
 * (each to its own second choice), and they come back when it returns; the others never move.
 * An unavailable or excluded candidate is skipped, which is the same as it leaving — so the
 * choice stays deterministic for a given key and set of eligible candidates. Ties (never seen in
 * practice) go to the lower index.
 *
 * @param keyHash `hashKey(key)`
 * @param seeds one `hashKey(id)` per candidate
 */
export function rendezvous<C extends Candidate>(
  list: readonly C[],
  exclude: ReadonlySet<C> | undefined,
  keyHash: number,
  seeds: readonly number[],
): number {
  let best = -1;
  let bestScore = -1;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (!eligible(c, exclude)) continue;
    const seed = seeds[i]!;
    // Two rounds of mixing so that neighbouring keys and neighbouring seeds decorrelate.
    const x = mix(mix(keyHash ^ seed) + Math.imul(seed, 0x9e3779b1));
    const u = (x + 0.5) / 4294967296;
    const score = c.weight / -Math.log(u);
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  }
  return best;
}
