/**
 * Param patterns compiled to a deterministic automaton (DFA), so that matching a segment reads
 * each of its characters once and never backtracks, whatever the pattern.
 *
 * path-to-regexp's ReDoS advisories (CVE-2024-45296, CVE-2024-52798) came from handing route
 * patterns to a backtracking engine, which tries every way a pattern can match a path that
 * almost matches. Lists of known-bad shapes (`(a+)+`, `(a|a)*`) kept missing others:
 * `(?:a|a)` repeated 24 times, `a{0,16}` six times or `\w{1,16}` six times each take most of a
 * second on a 25-character segment in V8. A DFA has no such shape: its cost is one table load
 * per character, for every pattern it can be built for. The price is paid at registration:
 * building the DFA can take time and memory exponential in the pattern (`(a|b)*a(a|b){20}`
 * needs 2^20 states), so the build is bounded (`MAX_PATTERN_POSITIONS`, `MAX_PATTERN_STATES`,
 * a work budget) and a pattern past a bound is refused rather than matched some other way.
 *
 * The construction is the textbook one: Glushkov's position automaton (one position per
 * character class in the pattern, counted repetitions written out, no ε-moves), then the
 * subset construction over the classes of characters the pattern tells apart.
 */
import { type CharSet, Refusal, type Rx } from './pattern-syntax.ts';

/** Most character positions a pattern may have once `x{m,n}` is written out as n copies of x. */
export const MAX_PATTERN_POSITIONS = 512;
/** Most states a pattern's DFA may have. */
export const MAX_PATTERN_STATES = 512;
/**
 * Longest segment a patterned param tests; a longer segment does not match the pattern (the
 * lookup goes on to the plain param or the wildcard, if any). Bounds each test at this many steps.
 */
export const MAX_PATTERN_SEGMENT_LENGTH = 1024;
/** Bit-set word operations the subset construction may spend (about 10 ms). */
const BUILD_BUDGET = 4_000_000;

/**
 * A compiled param pattern: `matches(path, from, to)` tells whether `path.slice(from, to)` is
 * matched whole, as `^(?:source)$` would tell, in at most `to - from` steps.
 */
export class SegmentMatcher {
  /**
   * The hot path, for ASCII: the next state is `ascii128[state * 128 + code]` (one load a
   * character, no class lookup). 256 bytes a state.
   */
  ascii128: Uint16Array;
  /** Next state: `table[state * width + class]`. State 0 is dead (no match possible), 1 the start. */
  table: Uint16Array;
  width: number;
  /** 1 for the states where the segment may end. */
  accepting: Uint8Array;
  /** The class of each code unit below 128. */
  ascii: Uint16Array;
  /** From 128 up: interval starts, ascending, the first being 128, and each interval's class. */
  wideStarts: Uint16Array;
  wideClasses: Uint16Array;

  constructor(
    table: Uint16Array,
    width: number,
    accepting: Uint8Array,
    ascii: Uint16Array,
    wideStarts: Uint16Array,
    wideClasses: Uint16Array,
  ) {
    this.table = table;
    this.width = width;
    this.accepting = accepting;
    this.ascii = ascii;
    this.wideStarts = wideStarts;
    this.wideClasses = wideClasses;
    const states = accepting.length;
    this.ascii128 = new Uint16Array(states * 128);
    for (let state = 0; state < states; state++)
      for (let c = 0; c < 128; c++) this.ascii128[state * 128 + c] = table[state * width + ascii[c]!]!;
  }

  /** How many states the DFA has, the dead state included. */
  get states(): number {
    return this.accepting.length;
  }

  matches(path: string, from: number, to: number): boolean {
    if (to - from > MAX_PATTERN_SEGMENT_LENGTH) return false;
    const ascii128 = this.ascii128;
    let state = 1;
    for (let i = from; i < to; i++) {
      const c = path.charCodeAt(i);
      state = c < 128 ? ascii128[(state << 7) | c]! : this.wideStep(state, c);
      if (state === 0) return false;
    }
    return this.accepting[state] === 1;
  }

  /**
   * `matches` over a whole string, counting the transitions it takes: the loop above, with a
   * counter, for the tests that prove the bound.
   */
  trace(subject: string): { matched: boolean; steps: number } {
    let steps = 0;
    if (subject.length > MAX_PATTERN_SEGMENT_LENGTH) return { matched: false, steps };
    let state = 1;
    for (let i = 0; i < subject.length; i++) {
      const c = subject.charCodeAt(i);
      state = c < 128 ? this.ascii128[(state << 7) | c]! : this.wideStep(state, c);
      steps++;
      if (state === 0) return { matched: false, steps };
    }
    return { matched: this.accepting[state] === 1, steps };
  }

  /** The next state on a code unit from 128 up. */
  wideStep(state: number, c: number): number {
    return this.table[state * this.width + this.wideClass(c)]!;
  }

  /** The class of a code unit from 128 up: a binary search over a few intervals. */
  wideClass(c: number): number {
    const starts = this.wideStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= c) lo = mid;
      else hi = mid - 1;
    }
    return this.wideClasses[lo]!;
  }
}

/** What a sub-expression contributes to the position automaton. */
interface Part {
  nullable: boolean;
  first: Uint32Array;
  last: Uint32Array;
}

/** Glushkov's construction: positions, their character sets, and what may follow each. */
class PositionAutomaton {
  words: number;
  sets: CharSet[];
  follow: Uint32Array[];

  constructor(count: number) {
    this.words = Math.max(1, Math.ceil(count / 32));
    this.sets = [];
    this.follow = [];
  }

  empty(): Part {
    return { nullable: true, first: new Uint32Array(this.words), last: new Uint32Array(this.words) };
  }

  build(rx: Rx): Part {
    switch (rx.kind) {
      case 'char': {
        const p = this.sets.length;
        this.sets.push(rx.set);
        this.follow.push(new Uint32Array(this.words));
        const part = this.empty();
        part.nullable = false;
        part.first[p >> 5]! |= 1 << (p & 31);
        part.last[p >> 5]! |= 1 << (p & 31);
        return part;
      }
      case 'seq': {
        let part = this.empty();
        for (const item of rx.items) part = this.concat(part, this.build(item));
        return part;
      }
      case 'alt': {
        const part = this.empty();
        part.nullable = false;
        for (const branch of rx.branches) {
          const b = this.build(branch);
          part.nullable ||= b.nullable;
          or(part.first, b.first);
          or(part.last, b.last);
        }
        return part;
      }
      case 'repeat': {
        // x{m,n} is m copies of x, then n - m optional ones; x{m,} is max(m, 1) copies, the last
        // looping back on itself (x* being one optional, looping copy). Each copy has positions
        // of its own.
        const { min, max } = rx;
        if (max === 0) return this.empty();
        let part = this.empty();
        if (max === Infinity) {
          const copies = Math.max(min, 1);
          for (let i = 0; i < copies; i++) {
            const copy = this.build(rx.body);
            if (i === copies - 1) {
              this.link(copy.last, copy.first);
              if (min === 0) copy.nullable = true;
            }
            part = this.concat(part, copy);
          }
          return part;
        }
        for (let i = 0; i < max; i++) {
          const copy = this.build(rx.body);
          if (i >= min) copy.nullable = true;
          part = this.concat(part, copy);
        }
        return part;
      }
    }
  }

  /** `a` then `b`. */
  concat(a: Part, b: Part): Part {
    this.link(a.last, b.first);
    const first = a.first.slice();
    if (a.nullable) or(first, b.first);
    const last = b.last.slice();
    if (b.nullable) or(last, a.last);
    return { nullable: a.nullable && b.nullable, first, last };
  }

  /** Every position in `from` may be followed by every position in `to`. */
  link(from: Uint32Array, to: Uint32Array): void {
    forEachBit(from, (p) => or(this.follow[p]!, to));
  }
}

/** How many positions `rx` has once counted repetitions are written out (capped past the limit). */
function positionCount(rx: Rx): number {
  switch (rx.kind) {
    case 'char':
      return 1;
    case 'seq':
      return Math.min(
        rx.items.reduce((n, item) => n + positionCount(item), 0),
        MAX_PATTERN_POSITIONS + 1,
      );
    case 'alt':
      return Math.min(
        rx.branches.reduce((n, item) => n + positionCount(item), 0),
        MAX_PATTERN_POSITIONS + 1,
      );
    case 'repeat': {
      const body = positionCount(rx.body);
      if (body === 0 || rx.max === 0) return 0;
      const copies = rx.max === Infinity ? Math.max(rx.min, 1) : rx.max;
      return Math.min(body * Math.min(copies, MAX_PATTERN_POSITIONS + 1), MAX_PATTERN_POSITIONS + 1);
    }
  }
}

/**
 * The characters the pattern tells apart, as classes: code units in one class are members of
 * exactly the same position sets, so the DFA needs one column per class, not per character.
 */
interface Alphabet {
  width: number;
  /** The classes each position's set holds. */
  classesOf: number[][];
  ascii: Uint16Array;
  wideStarts: Uint16Array;
  wideClasses: Uint16Array;
}

function alphabetOf(sets: CharSet[]): Alphabet {
  // Positions share sets (`\d{8}` is eight times one set): classes are computed per distinct set.
  const distinct = new Map<string, number>();
  const unique: CharSet[] = [];
  const setIndex = sets.map((set) => {
    const key = set.key();
    let index = distinct.get(key);
    if (index === undefined) {
      index = unique.length;
      distinct.set(key, index);
      unique.push(set);
    }
    return index;
  });
  const cuts = new Set<number>([0, 128]);
  for (const set of unique) {
    const r = set.ranges;
    for (let i = 0; i < r.length; i += 2) {
      cuts.add(r[i]!);
      if (r[i + 1]! < 0xffff) cuts.add(r[i + 1]! + 1);
    }
  }
  const starts = [...cuts].sort((a, b) => a - b);
  const ids = new Map<string, number>();
  const classOfInterval: number[] = [];
  const members: number[][] = unique.map(() => []);
  for (const start of starts) {
    const signature = unique.map((set) => (set.has(start) ? 1 : 0)).join('');
    let id = ids.get(signature);
    if (id === undefined) {
      id = ids.size;
      ids.set(signature, id);
      unique.forEach((set, k) => {
        if (set.has(start)) members[k]!.push(id!);
      });
    }
    classOfInterval.push(id);
  }
  const ascii = new Uint16Array(128);
  const wideStarts: number[] = [];
  const wideClasses: number[] = [];
  starts.forEach((start, k) => {
    const end = k + 1 < starts.length ? starts[k + 1]! : 0x10000;
    for (let c = start; c < Math.min(end, 128); c++) ascii[c] = classOfInterval[k]!;
    if (start >= 128 && wideClasses.at(-1) !== classOfInterval[k]) {
      wideStarts.push(start);
      wideClasses.push(classOfInterval[k]!);
    }
  });
  return {
    width: ids.size,
    classesOf: setIndex.map((k) => members[k]!),
    ascii,
    wideStarts: Uint16Array.from(wideStarts),
    wideClasses: Uint16Array.from(wideClasses),
  };
}

/**
 * Compiles a parsed pattern to its DFA; throws `Refusal` when it is past a bound.
 * A DFA state is the set of positions the next character may take, and whether the characters
 * read so far form a whole match.
 */
export function compileSegmentMatcher(rx: Rx): SegmentMatcher {
  const count = positionCount(rx);
  if (count > MAX_PATTERN_POSITIONS)
    throw new Refusal(
      `has more than ${MAX_PATTERN_POSITIONS} character positions once its counted repetitions are written out (lower the counts)`,
    );
  const nfa = new PositionAutomaton(count);
  const root = nfa.build(rx);
  const { sets, follow, words } = nfa;
  const alphabet = alphabetOf(sets);
  const { width, classesOf } = alphabet;
  const lasts = root.last;

  const keys = new Map<string, number>();
  const pending: Uint32Array[] = [];
  const accepting: number[] = [0];
  const rows: number[][] = [new Array<number>(width).fill(0)];
  const intern = (positions: Uint32Array, accepts: boolean): number => {
    const key = `${accepts ? 1 : 0}:${positions.join(',')}`;
    let state = keys.get(key);
    if (state === undefined) {
      state = rows.length;
      if (state >= MAX_PATTERN_STATES)
        throw new Refusal(
          `needs a matching automaton of more than ${MAX_PATTERN_STATES} states (simplify it)`,
        );
      keys.set(key, state);
      rows.push([]);
      accepting.push(accepts ? 1 : 0);
      pending.push(positions);
    }
    return state;
  };
  intern(root.first, root.nullable);

  let work = 0;
  const next: Uint32Array[] = [];
  for (let c = 0; c < width; c++) next.push(new Uint32Array(words));
  const touched = new Uint8Array(width);
  const accepts = new Uint8Array(width);
  for (let state = 1; state < rows.length; state++) {
    const positions = pending[state - 1]!;
    for (let c = 0; c < width; c++) next[c]!.fill(0);
    touched.fill(0);
    accepts.fill(0);
    forEachBit(positions, (p) => {
      const isLast = (lasts[p >> 5]! & (1 << (p & 31))) !== 0;
      const classes = classesOf[p]!;
      work += classes.length * words;
      for (const c of classes) {
        or(next[c]!, follow[p]!);
        touched[c] = 1;
        if (isLast) accepts[c] = 1;
      }
    });
    work += width * words;
    if (work > BUILD_BUDGET)
      throw new Refusal('is too costly to compile to a matching automaton (simplify it)');
    const row = rows[state]!;
    for (let c = 0; c < width; c++) {
      const set = next[c]!;
      row.push(
        touched[c] === 1 && (accepts[c] === 1 || !isZero(set)) ? intern(set.slice(), accepts[c] === 1) : 0,
      );
    }
  }

  const table = new Uint16Array(rows.length * width);
  rows.forEach((row, state) => {
    table.set(row, state * width);
  });
  return new SegmentMatcher(
    table,
    width,
    Uint8Array.from(accepting),
    alphabet.ascii,
    alphabet.wideStarts,
    alphabet.wideClasses,
  );
}

function or(into: Uint32Array, from: Uint32Array): void {
  for (let i = 0; i < into.length; i++) into[i]! |= from[i]!;
}

function isZero(set: Uint32Array): boolean {
  for (let i = 0; i < set.length; i++) if (set[i] !== 0) return false;
  return true;
}

function forEachBit(set: Uint32Array, fn: (bit: number) => void): void {
  for (let w = 0; w < set.length; w++) {
    let word = set[w]!;
    while (word !== 0) {
      const low = word & -word;
      fn(w * 32 + 31 - Math.clz32(low));
      word ^= low;
    }
  }
}
