/**
 * Fuzzes the JSON prototype guard: generated JSON texts with `__proto__` and
 * `constructor.prototype` keys at random depths, each character of them escaped at random. The
 * guard refuses every text that holds one, accepts every text that holds none (with the value
 * JSON.parse gives), and Object.prototype is never touched, even by a recursive merge of what it
 * accepted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJsonSafely } from '../../src/app/body.ts';
import { HttpError } from '../../src/app/index.ts';
import { fuzz, type Rng } from '../fixtures/fuzz.ts';

const ORIGINAL = new Set(Object.getOwnPropertyNames(Object.prototype));

function merge(target: Record<string, unknown>, source: unknown): void {
  if (source === null || typeof source !== 'object') return;
  for (const key in source as Record<string, unknown>) {
    const value = (source as Record<string, unknown>)[key];
    const current = target[key];
    if (value !== null && typeof value === 'object') {
      if (current !== null && (typeof current === 'object' || typeof current === 'function'))
        merge(current as Record<string, unknown>, value);
      else {
        const fresh: Record<string, unknown> = {};
        target[key] = fresh;
        merge(fresh, value);
      }
    } else target[key] = value;
  }
}

/** Spells `word` as a JSON string body, escaping each character with probability `p`. */
function spell(rng: Rng, word: string, p: number): string {
  let out = '';
  for (const ch of word) {
    if (!rng.chance(p)) out += ch;
    else {
      const hex = ch.charCodeAt(0).toString(16).padStart(4, '0');
      out += `\\u${rng.chance(0.5) ? hex : hex.toUpperCase()}`;
    }
  }
  return out;
}

const BENIGN_KEYS = ['a', 'b', 'name', 'proto', '_proto_', 'constructorName', 'prototype', 'x\u00e9', 'id'];

interface Gen {
  text: string;
  dangerous: boolean;
}

function ws(rng: Rng): string {
  return rng.chance(0.2) ? rng.pick([' ', '\n', '\t', '\r\n  ']) : '';
}

function scalar(rng: Rng): string {
  switch (rng.int(0, 5)) {
    case 0:
      return String(rng.int(-1000, 1000));
    case 1:
      return rng.pick(['true', 'false', 'null']);
    case 2:
      return `"${spell(rng, rng.pick(['__proto__', 'constructor', 'hello', 'caf\u00e9']), 0.3)}"`;
    case 3:
      return '"\\u0000\\n\\"\\\\"';
    default:
      return `"${rng.string('abcxyz_ ', rng.int(0, 8))}"`;
  }
}

/** A JSON value of at most `depth` levels; may plant a dangerous key (reported in `dangerous`). */
function value(rng: Rng, depth: number, plant: number): Gen {
  if (depth === 0 || rng.chance(0.25)) return { text: scalar(rng), dangerous: false };
  let dangerous = false;
  const parts: string[] = [];
  const n = rng.int(0, 4);
  if (rng.chance(0.35)) {
    for (let i = 0; i < n; i++) {
      const child = value(rng, depth - 1, plant);
      dangerous ||= child.dangerous;
      parts.push(ws(rng) + child.text + ws(rng));
    }
    return { text: `[${parts.join(',')}]`, dangerous };
  }
  // Distinct keys: with a repeated key JSON.parse keeps the last value, which could drop a plant.
  const keys = [...BENIGN_KEYS];
  for (let i = 0; i < n; i++) {
    const child = value(rng, depth - 1, plant);
    dangerous ||= child.dangerous;
    const key = keys.splice(rng.int(0, keys.length - 1), 1)[0]!;
    parts.push(`"${spell(rng, key, 0.2)}":${child.text}`);
  }
  if (rng.chance(plant)) {
    dangerous = true;
    const payload = `{"${spell(rng, 'polluted', 0.1)}":"yes"}`;
    if (rng.chance(0.5))
      parts.splice(rng.int(0, parts.length), 0, `"${spell(rng, '__proto__', 0.5)}":${payload}`);
    else
      parts.splice(
        rng.int(0, parts.length),
        0,
        `"${spell(rng, 'constructor', 0.5)}":{"${spell(rng, 'prototype', 0.5)}":${payload}}`,
      );
  }
  return { text: `{${parts.join(',')}}`, dangerous };
}

test('fuzz: the JSON guard refuses every planted __proto__/constructor.prototype, however escaped, and nothing else', async () => {
  let refused = 0;
  let accepted = 0;
  const cases = await fuzz({ seed: 0x5eed_0008, iterations: 5000, budgetMs: 1500 }, (rng) => {
    const gen = value(rng, rng.int(1, 12), rng.chance(0.5) ? 0.08 : 0);
    let parsed: unknown;
    let error: unknown;
    try {
      parsed = parseJsonSafely(gen.text);
    } catch (err) {
      error = err;
    }
    if (gen.dangerous) {
      assert.ok(error instanceof HttpError && error.status === 400, `not refused: ${gen.text}`);
      refused++;
    } else {
      assert.equal(error, undefined, `refused a benign text: ${gen.text}`);
      assert.deepEqual(parsed, JSON.parse(gen.text));
      merge({}, parsed);
      accepted++;
    }
    const added = Object.getOwnPropertyNames(Object.prototype).filter((k) => !ORIGINAL.has(k));
    assert.deepEqual(added, [], `Object.prototype polluted by ${gen.text}`);
  });
  assert.ok(cases > 50, `only ${cases} cases ran`);
  assert.ok(refused > 0 && accepted > 0, `refused ${refused}, accepted ${accepted}`);
});
