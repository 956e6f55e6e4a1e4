/**
 * The validator behind config-schema.ts: rule kinds as plain data, their constructors, and one
 * walk that checks a value against a rule and returns a clean copy. The walk never trusts the
 * input's shape: only plain objects and arrays are entered, only own string keys are read,
 * `__proto__` / `constructor` / `prototype` are refused before anything looks them up, and the
 * copy it returns is built from the rules' keys, so nothing the file added rides along.
 */
import { isAbsolute, resolve } from 'node:path';
import { TIMER_MAX_MS } from '../server/options.ts';

/** A config error: where (`static.spaFallback`), what, and its code. */
export interface ConfigIssue {
  path: string;
  code: 'STRATA_ERR_CONFIG_UNKNOWN_KEY' | 'STRATA_ERR_CONFIG_INVALID';
  message: string;
}

/** A check beyond the type: returns what is wrong, or undefined. */
type Check<T> = (value: T) => string | undefined;

export type Rule =
  | { kind: 'int'; min: number; max: number; unit?: string }
  | { kind: 'number'; min: number; max: number }
  | { kind: 'bool' }
  | {
      kind: 'string';
      /** Resolve it against the config file's directory (unless it is one of `keep`). */
      path: boolean;
      keep: readonly string[];
      maxLength: number;
      what: string;
      check: Check<string> | undefined;
    }
  | { kind: 'enum'; values: readonly (string | boolean)[] }
  | { kind: 'list'; of: Rule; min: number; max: number; unique: boolean; what: string }
  | { kind: 'object'; keys: Readonly<Record<string, Rule>>; excluded: Readonly<Record<string, string>> }
  | { kind: 'oneOf'; options: readonly Rule[] }
  | { kind: 'code'; what: string; test: (value: unknown) => boolean };

// Node's timers hold at most 2^31 − 1 ms; a longer delay fires after 1 ms (TimeoutOverflowWarning).
// One definition, the server's: serve() refuses the same values from code.
export { TIMER_MAX_MS };

export const int = (min = 0, max = Number.MAX_SAFE_INTEGER): Rule => ({ kind: 'int', min, max });
/** A duration in ms, bounded by what a node timer can hold. */
export const ms = (min = 0): Rule => ({ kind: 'int', min, max: TIMER_MAX_MS, unit: 'ms' });
/** A duration in seconds that the code turns into a timer. */
export const seconds = (min = 0): Rule => ({
  kind: 'int',
  min,
  max: Math.floor(TIMER_MAX_MS / 1000),
  unit: 's',
});
export const bytes = (min = 0, max = Number.MAX_SAFE_INTEGER): Rule => ({
  kind: 'int',
  min,
  max,
  unit: 'bytes',
});
export const num = (min: number, max: number): Rule => ({ kind: 'number', min, max });
export const bool: Rule = { kind: 'bool' };
export const str = (check?: Check<string>, what = 'a non-empty string'): Rule => ({
  kind: 'string',
  path: false,
  keep: [],
  maxLength: 4096,
  what,
  check,
});
/** A file or directory, relative to the config file; the names in `keep` are left as they are. */
export const filePath = (keep: readonly string[] = [], check?: Check<string>): Rule => ({
  kind: 'string',
  path: true,
  keep,
  maxLength: 4096,
  what: 'a path',
  check,
});
export const oneOf = (...options: Rule[]): Rule => ({ kind: 'oneOf', options });
export const literal = (...values: (string | boolean)[]): Rule => ({ kind: 'enum', values });
export const listOf = (
  of: Rule,
  options: { min?: number; max?: number; unique?: boolean; what?: string } = {},
): Rule => ({
  kind: 'list',
  of,
  min: options.min ?? 0,
  max: options.max ?? 65_536,
  unique: options.unique ?? false,
  what: options.what ?? `a list, each ${describe(of)}`,
});
/** A value only code can make (a RegExp, a logger): refused in a JSON config. */
export const code = (what: string, test: (value: unknown) => boolean): Rule => ({ kind: 'code', what, test });

/**
 * A nested object with exactly these keys. `T` makes the table exhaustive: a key added to the
 * option type without a rule here is a type error, so the file cannot silently lag behind.
 */
export function obj<T extends object>(
  keys: { [K in keyof Required<T>]-?: Rule },
  excluded: Readonly<Record<string, string>> = {},
): Rule {
  return { kind: 'object', keys: keys as Record<string, Rule>, excluded };
}

/** Keys that reach an object's prototype when assigned or looked up. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

interface Walk {
  issues: ConfigIssue[];
  /** The config file's directory: relative paths are resolved against it. */
  baseDir: string;
  /** A JSON file: values that need code (RegExp, logger) cannot be in it. */
  dataOnly: boolean;
  root: Rule;
}

const INVALID: unique symbol = Symbol('invalid');

/**
 * Checks `value` against `rule` and returns a clean copy (relative paths resolved), or the
 * issues found, each with its path. Every issue is reported, not only the first.
 */
export function validate(
  value: unknown,
  rule: Rule,
  options: { baseDir: string; dataOnly: boolean },
): { value: unknown; issues: ConfigIssue[] } {
  const walk: Walk = { issues: [], baseDir: options.baseDir, dataOnly: options.dataOnly, root: rule };
  const clean = check(value, rule, '', walk);
  return { value: clean === INVALID ? undefined : clean, issues: walk.issues };
}

function fail(
  walk: Walk,
  path: string,
  message: string,
  code: ConfigIssue['code'] = 'STRATA_ERR_CONFIG_INVALID',
) {
  walk.issues.push({ path: path === '' ? '(the exported object)' : path, code, message });
  return INVALID;
}

function check(value: unknown, rule: Rule, path: string, walk: Walk): unknown {
  switch (rule.kind) {
    case 'int':
    case 'number': {
      if (
        typeof value !== 'number' ||
        !Number.isFinite(value) ||
        (rule.kind === 'int' && !Number.isInteger(value))
      )
        return fail(
          walk,
          path,
          `must be ${describe(rule)}, got ${describeValue(value)}${quotedNumber(value)}`,
        );
      if (value < rule.min || value > rule.max)
        return fail(walk, path, `must be ${describe(rule)}, got ${value}`);
      return value;
    }
    case 'bool':
      return typeof value === 'boolean'
        ? value
        : fail(walk, path, `must be true or false, got ${describeValue(value)}`);
    case 'string': {
      if (typeof value !== 'string' || value === '')
        return fail(walk, path, `must be ${rule.what}, got ${describeValue(value)}`);
      if (value.length > rule.maxLength)
        return fail(walk, path, `must be at most ${rule.maxLength} characters, got ${value.length}`);
      if (value.includes('\0')) return fail(walk, path, 'must not contain a NUL character');
      const problem = rule.check?.(value);
      if (problem !== undefined) return fail(walk, path, `${problem}, got ${describeValue(value)}`);
      if (!rule.path || rule.keep.includes(value) || isAbsolute(value)) return value;
      return resolve(walk.baseDir, value);
    }
    case 'enum':
      return rule.values.includes(value as string)
        ? value
        : fail(walk, path, `must be ${describe(rule)}, got ${describeValue(value)}`);
    case 'code':
      if (walk.dataOnly)
        return fail(walk, path, `takes ${rule.what}, which only a .ts, .mjs or .js config file can hold`);
      return rule.test(value) ? value : fail(walk, path, `must be ${rule.what}, got ${describeValue(value)}`);
    case 'list':
      return checkList(value, rule, path, walk);
    case 'object':
      return checkObject(value, rule, path, walk);
    case 'oneOf':
      return checkOneOf(value, rule, path, walk);
  }
}

function checkList(value: unknown, rule: Extract<Rule, { kind: 'list' }>, path: string, walk: Walk): unknown {
  if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype)
    return fail(walk, path, `must be ${describe(rule)}, got ${describeValue(value)}`);
  if (value.length < rule.min || value.length > rule.max)
    return fail(
      walk,
      path,
      rule.min > 0 && value.length < rule.min
        ? `must list at least ${rule.min}`
        : `lists ${value.length} entries, at most ${rule.max} allowed`,
    );
  const out: unknown[] = [];
  let ok = true;
  for (let i = 0; i < value.length; i++) {
    const item = check(value[i], rule.of, `${path}[${i}]`, walk);
    if (item === INVALID) ok = false;
    else out.push(item);
  }
  if (ok && rule.unique && new Set(out).size !== out.length) return fail(walk, path, 'lists an entry twice');
  return ok ? out : INVALID;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function checkObject(
  value: unknown,
  rule: Extract<Rule, { kind: 'object' }>,
  path: string,
  walk: Walk,
): unknown {
  if (!isPlainObject(value)) return fail(walk, path, `must be a plain object, got ${describeValue(value)}`);
  const out: Record<string, unknown> = {};
  let ok = true;
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key === 'symbol') {
      ok = false;
      fail(walk, path, `has a symbol key (${String(key)}); only named keys are read`);
      continue;
    }
    const where = path === '' ? key : `${path}.${key}`;
    if (FORBIDDEN_KEYS.has(key)) {
      ok = false;
      fail(walk, where, `"${key}" is not a config key (it would reach the object's prototype)`);
      continue;
    }
    if (!Object.hasOwn(rule.keys, key)) {
      ok = false;
      if (Object.hasOwn(rule.excluded, key))
        fail(walk, where, `cannot be set in a config file: ${rule.excluded[key]}`);
      else fail(walk, where, unknownKey(key, path, rule, walk.root), 'STRATA_ERR_CONFIG_UNKNOWN_KEY');
      continue;
    }
    const item = value[key];
    // An optional key set to undefined (`port: process.env.X ? … : undefined`) is left unset.
    if (item === undefined) continue;
    const clean = check(item, rule.keys[key]!, where, walk);
    if (clean === INVALID) ok = false;
    else out[key] = clean;
  }
  return ok ? out : INVALID;
}

/** Does the value have the type this rule is about (its details aside)? Picks a union's branch. */
function sameKind(rule: Rule, value: unknown): boolean {
  switch (rule.kind) {
    case 'int':
    case 'number':
      return typeof value === 'number';
    case 'bool':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'enum':
      return rule.values.some((v) => typeof v === typeof value);
    case 'list':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'code':
      return typeof value === 'function' || (typeof value === 'object' && value !== null);
    case 'oneOf':
      return rule.options.some((o) => sameKind(o, value));
  }
}

function checkOneOf(
  value: unknown,
  rule: Extract<Rule, { kind: 'oneOf' }>,
  path: string,
  walk: Walk,
): unknown {
  const branches = rule.options.filter((o) => sameKind(o, value));
  // One branch for this kind of value: its own message is the precise one (a nested path, a range).
  if (branches.length === 1) {
    const only = branches[0]!;
    if (only.kind === 'object' || only.kind === 'list' || only.kind === 'int' || only.kind === 'string')
      return check(value, only, path, walk);
  }
  for (const branch of branches) {
    const trial: Walk = { ...walk, issues: [] };
    const clean = check(value, branch, path, trial);
    if (clean !== INVALID) return clean;
    if (branch.kind === 'object' || (branch.kind === 'code' && walk.dataOnly)) {
      walk.issues.push(...trial.issues);
      return INVALID;
    }
  }
  return fail(walk, path, `must be ${describe(rule)}, got ${describeValue(value)}${quotedNumber(value)}`);
}

/** "must be …": the rule in words. */
export function describe(rule: Rule): string {
  switch (rule.kind) {
    case 'int': {
      const unit = rule.unit === undefined ? '' : ` (${rule.unit})`;
      if (rule.max === Number.MAX_SAFE_INTEGER)
        return rule.min === 0 ? `a non-negative integer${unit}` : `an integer of at least ${rule.min}${unit}`;
      return `an integer from ${rule.min} to ${rule.max}${unit}`;
    }
    case 'number':
      return `a number from ${rule.min} to ${rule.max}`;
    case 'bool':
      return 'true or false';
    case 'string':
      return rule.what;
    case 'enum':
      return rule.values.map((v) => JSON.stringify(v)).join(' or ');
    case 'list':
      return rule.what;
    case 'object':
      return 'an object';
    case 'code':
      return rule.what;
    case 'oneOf':
      return rule.options.map(describe).join(', or ');
  }
}

/** The value in a message: short, and never the text of a huge or hostile string. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return value.length > 60 ? `${JSON.stringify(value.slice(0, 60))}…` : JSON.stringify(value);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default: {
      const proto = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) return 'an object';
      const name = typeof proto?.constructor?.name === 'string' ? proto.constructor.name : '';
      if (name === '' || name === 'Object') return 'an object with a prototype';
      return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`;
    }
  }
}

/** "100" where 100 was meant: say so. */
function quotedNumber(value: unknown): string {
  return typeof value === 'string' && /^-?[0-9]+(\.[0-9]+)?$/.test(value.trim())
    ? ' (a string: write the number without quotes)'
    : '';
}

function unknownKey(key: string, path: string, rule: Extract<Rule, { kind: 'object' }>, root: Rule): string {
  const here = path === '' ? 'the config' : path;
  const near = closest(key, Object.keys(rule.keys));
  if (near !== undefined) return `unknown key in ${here}; did you mean "${near}"?`;
  const elsewhere = pathsNamed(root, key);
  if (elsewhere.length > 0)
    return `unknown key in ${here}; did you mean ${elsewhere.map((p) => `"${p}"`).join(' or ')}?`;
  const start = sharedStart(key, Object.keys(rule.keys));
  if (start !== undefined) return `unknown key in ${here}; did you mean "${start}"?`;
  return `unknown key in ${here} (known: ${Object.keys(rule.keys).join(', ')})`;
}

/** The candidate nearest to `word` by edit distance, if near enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > 64) return undefined;
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** `maxPayloadSize` for `maxPayload`: the one candidate that begins the word, or that it begins. */
function sharedStart(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const starts = candidates.filter((c) => {
    const k = c.toLowerCase();
    return Math.min(k.length, lower.length) >= 5 && (k.startsWith(lower) || lower.startsWith(k));
  });
  return starts.length === 1 ? starts[0] : undefined;
}

/**
 * Optimal-string-alignment distance: insertions, deletions, substitutions and transpositions of
 * neighbours (`maxReqeusts`) each count 1.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Array<number>(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(
        d[(i - 1) * cols + j]! + 1,
        d[i * cols + j - 1]! + 1,
        d[(i - 1) * cols + j - 1]! + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1]!;
}

/** Every path in the schema whose last key is `key` (case aside): `spaFallback` → `static.spaFallback`. */
export function pathsNamed(rule: Rule, key: string, prefix = ''): string[] {
  if (rule.kind === 'oneOf') return [...new Set(rule.options.flatMap((o) => pathsNamed(o, key, prefix)))];
  if (rule.kind !== 'object') return [];
  const found: string[] = [];
  for (const [name, sub] of Object.entries(rule.keys)) {
    const path = prefix === '' ? name : `${prefix}.${name}`;
    if (name.toLowerCase() === key.toLowerCase()) found.push(path);
    found.push(...pathsNamed(sub, key, path));
  }
  return found;
}

/** Every key path of the schema (`static.spaFallback`, `workers.maxRequests`): the docs test's list. */
export function schemaPaths(rule: Rule, prefix = ''): string[] {
  if (rule.kind === 'oneOf') return [...new Set(rule.options.flatMap((o) => schemaPaths(o, prefix)))];
  if (rule.kind !== 'object') return [];
  return Object.entries(rule.keys).flatMap(([name, sub]) => {
    const path = prefix === '' ? name : `${prefix}.${name}`;
    return [path, ...schemaPaths(sub, path)];
  });
}
