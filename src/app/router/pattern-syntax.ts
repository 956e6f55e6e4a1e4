/**
 * The subset of JavaScript regex syntax that per-param patterns may use, parsed into a small
 * tree for the backtracking check (safe-pattern.ts). Anything outside the subset is refused
 * with the reason, as the check cannot reason about it.
 */

/** A set of UTF-16 code units: exact below 128, one bucket for everything above. */
export class CharSet {
  bits: number[];
  wide: boolean;

  constructor() {
    this.bits = [0, 0, 0, 0];
    this.wide = false;
  }

  static of(code: number): CharSet {
    return new CharSet().addRange(code, code);
  }

  static any(): CharSet {
    const set = new CharSet();
    set.bits = [-1, -1, -1, -1];
    set.wide = true;
    return set;
  }

  addRange(from: number, to: number): CharSet {
    for (let c = from; c <= Math.min(to, 127); c++) this.bits[c >> 5]! |= 1 << (c & 31);
    if (to >= 128) this.wide = true;
    return this;
  }

  addSet(other: CharSet): CharSet {
    for (let i = 0; i < 4; i++) this.bits[i]! |= other.bits[i]!;
    this.wide ||= other.wide;
    return this;
  }

  negate(): CharSet {
    for (let i = 0; i < 4; i++) this.bits[i] = ~this.bits[i]!;
    // Everything above 127 stays possible: the set is an over-approximation, never an under-one.
    this.wide = true;
    return this;
  }

  intersects(other: CharSet): boolean {
    for (let i = 0; i < 4; i++) if ((this.bits[i]! & other.bits[i]!) !== 0) return true;
    return this.wide && other.wide;
  }
}

export type Rx =
  | { kind: 'char'; set: CharSet }
  | { kind: 'seq'; items: Rx[] }
  | { kind: 'alt'; branches: Rx[] }
  | { kind: 'repeat'; body: Rx; min: number; max: number };

const DIGIT = new CharSet().addRange(48, 57);
const WORD = new CharSet().addRange(48, 57).addRange(65, 90).addRange(97, 122).addRange(95, 95);
const SPACE = new CharSet().addRange(9, 13).addRange(32, 32).addRange(160, 0xffff);
const DOT = CharSet.any();
DOT.bits[0]! &= ~((1 << 10) | (1 << 13));

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
    const set = new CharSet();
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
        if (typeof to === 'number') {
          set.addRange(from, to);
          continue;
        }
        set.addSet(CharSet.of(from)).addSet(CharSet.of(45)).addSet(to);
        continue;
      }
      if (typeof from === 'number') set.addRange(from, from);
      else set.addSet(from);
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
        return new CharSet().addSet(DIGIT);
      case 'D':
        return new CharSet().addSet(DIGIT).negate();
      case 'w':
        return new CharSet().addSet(WORD);
      case 'W':
        return new CharSet().addSet(WORD).negate();
      case 's':
        return new CharSet().addSet(SPACE);
      case 'S':
        return new CharSet().addSet(SPACE).negate();
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
        if (ch === '0') return CharSet.of(0);
        if (/[A-Za-z0-9]/.test(ch))
          throw new Refusal(`uses the escape \\${ch}, which the check does not know`);
        return CharSet.of(ch.charCodeAt(0));
    }
  }
}

function singleCode(set: CharSet): number | undefined {
  if (set.wide) return undefined;
  let found: number | undefined;
  for (let c = 0; c < 128; c++) {
    if ((set.bits[c >> 5]! & (1 << (c & 31))) !== 0) {
      if (found !== undefined) return undefined;
      found = c;
    }
  }
  return found;
}
