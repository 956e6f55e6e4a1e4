/**
 * The subset of JavaScript regex syntax that per-param patterns may use, parsed into a small
 * tree that pattern-automaton.ts compiles to a DFA. Anything outside the subset is refused with
 * the reason. Semantics are those of `new RegExp(source)` without flags (Annex B, no `u`):
 * patterns work on UTF-16 code units, as `charCodeAt` reads the path.
 */

/** The largest UTF-16 code unit. */
const TOP = 0xffff;

/** A set of UTF-16 code units, exact: sorted, disjoint, non-adjacent inclusive ranges `[lo, hi, lo, hi, …]`. */
export class CharSet {
  ranges: number[];

  constructor(ranges: number[] = []) {
    this.ranges = ranges;
  }

  static of(code: number): CharSet {
    return new CharSet([code, code]);
  }

  static range(from: number, to: number): CharSet {
    return new CharSet([from, to]);
  }

  static any(): CharSet {
    return new CharSet([0, TOP]);
  }

  has(code: number): boolean {
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) if (code >= r[i]! && code <= r[i + 1]!) return true;
    return false;
  }

  isEmpty(): boolean {
    return this.ranges.length === 0;
  }

  union(other: CharSet): CharSet {
    const pairs: [number, number][] = [];
    for (const r of [this.ranges, other.ranges])
      for (let i = 0; i < r.length; i += 2) pairs.push([r[i]!, r[i + 1]!]);
    pairs.sort((a, b) => a[0] - b[0]);
    const out: number[] = [];
    for (const [lo, hi] of pairs) {
      const last = out.length - 1;
      if (last > 0 && lo <= out[last]! + 1) out[last] = Math.max(out[last]!, hi);
      else out.push(lo, hi);
    }
    return new CharSet(out);
  }

  negate(): CharSet {
    const out: number[] = [];
    let next = 0;
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) {
      if (r[i]! > next) out.push(next, r[i]! - 1);
      next = r[i + 1]! + 1;
    }
    if (next <= TOP) out.push(next, TOP);
    return new CharSet(out);
  }

  /** A key equal for equal sets. */
  key(): string {
    return this.ranges.join(',');
  }
}

export type Rx =
  | { kind: 'char'; set: CharSet }
  | { kind: 'seq'; items: Rx[] }
  | { kind: 'alt'; branches: Rx[] }
  | { kind: 'repeat'; body: Rx; min: number; max: number };

const DIGIT = new CharSet([48, 57]);
const WORD = new CharSet([48, 57, 65, 90, 95, 95, 97, 122]);
/** ECMA-262 WhiteSpace and LineTerminator: what `\s` matches (the unit tests compare with V8). */
// biome-ignore format: one range a pair
const SPACE = new CharSet([
  9, 13, 32, 32, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f,
  0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff,
]);
/** `.` without the `s` flag: anything but a line terminator. */
const DOT = new CharSet([10, 10, 13, 13, 0x2028, 0x2029]).negate();

/** Why a pattern is refused; thrown inside the parser, turned into a RouteError by `assertSafePattern`. */
export class Refusal {
  why: string;
  constructor(why: string) {
    this.why = why;
  }
}

export class PatternParser {
  source: string;
  i: number;

  constructor(source: string) {
    this.source = source;
    this.i = 0;
  }

  parse(): Rx {
    const rx = this.alternation();
    if (this.i < this.source.length) throw new Refusal(`has an unbalanced ")" at ${this.i}`);
    return rx;
  }

  alternation(): Rx {
    const branches = [this.sequence()];
    while (this.source[this.i] === '|') {
      this.i++;
      branches.push(this.sequence());
    }
    return branches.length === 1 ? branches[0]! : { kind: 'alt', branches };
  }

  sequence(): Rx {
    const items: Rx[] = [];
    while (this.i < this.source.length) {
      const ch = this.source[this.i];
      if (ch === '|' || ch === ')') break;
      items.push(this.quantified(this.atom()));
    }
    return items.length === 1 ? items[0]! : { kind: 'seq', items };
  }

  quantified(atom: Rx): Rx {
    const s = this.source;
    let min: number;
    let max: number;
    const ch = s[this.i];
    if (ch === '*') [min, max] = [0, Infinity];
    else if (ch === '+') [min, max] = [1, Infinity];
    else if (ch === '?') [min, max] = [0, 1];
    else if (ch === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(s.slice(this.i));
      if (m === null) throw new Refusal('has a "{" that is not a quantifier; escape it as \\{');
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      this.i += m[0].length - 1;
    } else return atom;
    this.i++;
    if (s[this.i] === '?') this.i++; // lazy: the same search space, in another order
    const next = s[this.i];
    if (next === '*' || next === '+' || next === '?' || next === '{')
      throw new Refusal('stacks two quantifiers');
    return { kind: 'repeat', body: atom, min, max };
  }

  atom(): Rx {
    const s = this.source;
    const ch = s[this.i]!;
    this.i++;
    switch (ch) {
      case '(':
        return this.group();
      case '[':
        return { kind: 'char', set: this.charClass() };
      case '.':
        return { kind: 'char', set: DOT };
      case '\\':
        return { kind: 'char', set: this.escape(false) };
      case '^':
      case '$':
        throw new Refusal(`uses the anchor "${ch}" (a param pattern already matches the whole segment)`);
      case '*':
      case '+':
      case '?':
      case '{':
        throw new Refusal(`has a quantifier "${ch}" with nothing to repeat`);
      default:
        return { kind: 'char', set: CharSet.of(ch.charCodeAt(0)) };
    }
  }

  group(): Rx {
    const s = this.source;
    if (s[this.i] === '?') {
      const kind = s[this.i + 1];
      if (kind === ':') this.i += 2;
      else if (kind === '<' && s[this.i + 2] !== '=' && s[this.i + 2] !== '!') {
        const end = s.indexOf('>', this.i);
        if (end === -1) throw new Refusal('has an unterminated group name');
        this.i = end + 1;
      } else throw new Refusal('uses a lookaround or group modifier');
    }
    const body = this.alternation();
    if (s[this.i] !== ')') throw new Refusal('has an unbalanced "("');
    this.i++;
    return body;
  }

  charClass(): CharSet {
    const s = this.source;
    let set = new CharSet();
    let negated = false;
    if (s[this.i] === '^') {
      negated = true;
      this.i++;
    }
    // In JavaScript a "]" right after "[" closes the class: "[]" matches nothing.
    while (s[this.i] !== ']') {
      if (this.i >= s.length) throw new Refusal('has an unterminated character class');
      const from = this.classAtom();
      if (s[this.i] === '-' && s[this.i + 1] !== ']' && this.i + 1 < s.length && typeof from === 'number') {
        this.i++;
        const to = this.classAtom();
        // Annex B: a range with a class escape at one end is three members, "-" among them.
        set = set.union(
          typeof to === 'number' ? CharSet.range(from, to) : CharSet.of(from).union(CharSet.of(45)).union(to),
        );
        continue;
      }
      set = set.union(typeof from === 'number' ? CharSet.of(from) : from);
    }
    this.i++;
    return negated ? set.negate() : set;
  }

  /** One member of a class: a code unit, or a set for \d, \w, \s and their negations. */
  classAtom(): number | CharSet {
    const s = this.source;
    const ch = s[this.i]!;
    this.i++;
    if (ch !== '\\') return ch.charCodeAt(0);
    const set = this.escape(true);
    const only = singleCode(set);
    return only ?? set;
  }

  escape(inClass: boolean): CharSet {
    const s = this.source;
    const ch = s[this.i];
    if (ch === undefined) throw new Refusal('ends with a lone "\\"');
    this.i++;
    switch (ch) {
      case 'd':
        return DIGIT;
      case 'D':
        return DIGIT.negate();
      case 'w':
        return WORD;
      case 'W':
        return WORD.negate();
      case 's':
        return SPACE;
      case 'S':
        return SPACE.negate();
      case 't':
        return CharSet.of(9);
      case 'n':
        return CharSet.of(10);
      case 'v':
        return CharSet.of(11);
      case 'f':
        return CharSet.of(12);
      case 'r':
        return CharSet.of(13);
      case 'x':
      case 'u': {
        const digits = ch === 'x' ? 2 : 4;
        const hex = s.slice(this.i, this.i + digits);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== digits)
          throw new Refusal(`has a bad \\${ch} escape`);
        this.i += digits;
        return CharSet.of(Number.parseInt(hex, 16));
      }
      case 'b':
        if (inClass) return CharSet.of(8);
        throw new Refusal('uses the word boundary \\b');
      default:
        if (/[1-9]/.test(ch) || ch === 'k') throw new Refusal('uses a backreference');
        if (ch === '0') {
          // Annex B reads \01 as an octal escape, not NUL then "1": refused rather than guessed.
          if (/[0-9]/.test(s[this.i] ?? '')) throw new Refusal('uses an octal escape');
          return CharSet.of(0);
        }
        if (/[A-Za-z0-9]/.test(ch))
          throw new Refusal(`uses the escape \\${ch}, which the check does not know`);
        return CharSet.of(ch.charCodeAt(0));
    }
  }
}

function singleCode(set: CharSet): number | undefined {
  const r = set.ranges;
  return r.length === 2 && r[0] === r[1] ? r[0] : undefined;
}
