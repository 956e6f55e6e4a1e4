/**
 * Fuzz: the request-cookie parser (and `c.cookies`, which reads through it) never throws, never
 * pollutes Object.prototype, shows no inherited name unless it was sent, and keeps the first
 * value of a repeated name. Seeded and time-bounded (test/fixtures/fuzz.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCookieHeader } from '../../src/app/context.ts';
import { App } from '../../src/app/index.ts';
import { fuzz, PRINTABLE, type Rng } from '../fixtures/fuzz.ts';

const NAMES = [
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'prototype',
  'a',
  'sid',
  '',
];
const INHERITED = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf'];
const PIECES = [
  ';',
  '; ',
  '=',
  '%',
  '%2',
  '%zz',
  '%E0%A4',
  '%25',
  '"',
  ' ',
  '\t',
  ',',
  ', ',
  '%3B',
  '%00',
  'é',
];

function fragment(rng: Rng): string {
  const roll = rng.int(0, 9);
  if (roll < 3) return rng.pick(NAMES);
  if (roll < 6) return rng.pick(PIECES);
  return rng.string(PRINTABLE, rng.int(0, 6));
}

function cookieHeader(rng: Rng): string {
  if (rng.chance(0.5)) {
    // Well-formed pairs, with hostile names and values.
    const pairs: string[] = [];
    for (let i = rng.int(0, 12); i > 0; i--)
      pairs.push(`${rng.pick(NAMES)}=${fragment(rng)}${fragment(rng)}`);
    return pairs.join(rng.pick(['; ', ';', ' ; ']));
  }
  let out = '';
  for (let i = rng.int(0, 20); i > 0; i--) out += fragment(rng);
  return out;
}

/** The names a header sends, in order, as the parser reads them (for the invariants only). */
function sentNames(header: string): Set<string> {
  const names = new Set<string>();
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1) names.add(part.slice(0, eq).trim());
  }
  return names;
}

function firstRawValue(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const protoKeys = (): string[] => Object.getOwnPropertyNames(Object.prototype).sort();

test('parseCookieHeader: no throw, no pollution, no inherited names, first value wins', async () => {
  const before = protoKeys();
  const runs = await fuzz({ seed: 0x5eed_c001, iterations: 20_000, budgetMs: 1500 }, (rng) => {
    const header = cookieHeader(rng);
    const out = parseCookieHeader(header);
    assert.equal(Object.getPrototypeOf(out), null, header);
    const sent = sentNames(header);
    for (const key of Object.keys(out)) {
      assert.ok(sent.has(key), `${JSON.stringify(key)} was not sent in ${JSON.stringify(header)}`);
      assert.equal(typeof out[key], 'string');
      const raw = firstRawValue(header, key)!;
      const unquoted = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
      let decoded = unquoted;
      try {
        decoded = decodeURIComponent(unquoted);
      } catch {}
      assert.equal(out[key], decoded, `first value of ${key} in ${JSON.stringify(header)}`);
    }
    for (const name of INHERITED) if (!sent.has(name)) assert.equal(out[name], undefined, name);
  });
  assert.ok(runs > 100, `only ${runs} cases ran`);
  assert.deepEqual(protoKeys(), before, 'Object.prototype unchanged');
  assert.equal(({} as Record<string, unknown>).a, undefined);
});

test('c.cookies and c.cookie() through app.request: no throw, no pollution', async () => {
  const app = new App({ log: false });
  app.get('/', (c) => {
    const names = INHERITED.filter((n) => c.cookie(n) !== undefined);
    return c.json({ count: Object.keys(c.cookies).length, names });
  });
  const before = protoKeys();
  const runs = await fuzz({ seed: 0xc00c1e, iterations: 2000, budgetMs: 1000 }, async (rng) => {
    // Header values cannot hold some bytes (undici refuses them before the app sees them).
    const header = cookieHeader(rng).replace(/[^\t\x20-\x7e]/g, '');
    const res = await app.request('/', { headers: { cookie: header } });
    assert.equal(res.status, 200, header);
    const out = (await res.json()) as { names: string[] };
    const sent = sentNames(header.trim());
    for (const name of out.names) assert.ok(sent.has(name), `${name} not sent in ${JSON.stringify(header)}`);
  });
  assert.ok(runs > 20, `only ${runs} cases ran`);
  assert.deepEqual(protoKeys(), before, 'Object.prototype unchanged');
});
