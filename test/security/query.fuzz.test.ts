/**
 * Fuzz: the query string as the context exposes it (`c.query`, `c.queries()`, `c.searchParams`)
 * never throws, never pollutes Object.prototype, shows no inherited name (`toString`,
 * `constructor`, `__proto__`) as a value unless it was sent, and keeps the first of repeated
 * values. Seeded and time-bounded (test/fixtures/fuzz.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App } from '../../src/app/index.ts';
import { fuzz, PRINTABLE, type Rng } from '../fixtures/fuzz.ts';

const NAMES = [
  '__proto__',
  '__proto__[x]',
  'constructor',
  'constructor[prototype][x]',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'a',
  'a[]',
  '',
];
const INHERITED = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf'];
const PIECES = ['&', '=', '%', '%2', '%zz', '%E0%A4', '%26', '%3D', '+', '#', '?', ';', '%00', '[', ']', '.'];

function fragment(rng: Rng): string {
  const roll = rng.int(0, 9);
  if (roll < 3) return rng.pick(NAMES);
  if (roll < 6) return rng.pick(PIECES);
  // Printable ASCII without '#', which would end the query in a URL.
  return rng.string(PRINTABLE, rng.int(0, 6)).replace(/#/g, '');
}

function queryString(rng: Rng): string {
  if (rng.chance(0.5)) {
    const pairs: string[] = [];
    for (let i = rng.int(0, 10); i > 0; i--) {
      const name = rng.chance(0.3) ? encodeURIComponent(rng.pick(NAMES)) : rng.pick(NAMES);
      pairs.push(rng.chance(0.1) ? name : `${name}=${fragment(rng)}`);
    }
    return pairs.join('&');
  }
  let out = '';
  for (let i = rng.int(0, 16); i > 0; i--) out += fragment(rng);
  return out.replace(/#/g, '');
}

const protoKeys = (): string[] => Object.getOwnPropertyNames(Object.prototype).sort();

interface Seen {
  proto: boolean;
  entries: [string, string][];
  inherited: Record<string, string | null>;
  all: [string, string][];
}

function makeApp(): App {
  const app = new App({ log: false });
  app.get('/q', (c) => {
    const query = c.query;
    const inherited: Record<string, string | null> = Object.create(null);
    for (const name of INHERITED) inherited[name] = query[name] ?? null;
    const seen: Seen = {
      proto: Object.getPrototypeOf(query) === null,
      entries: Object.entries(query),
      inherited,
      all: [...c.searchParams],
    };
    // queries() of an inherited name is what was sent, nothing more.
    for (const name of INHERITED) assert.deepEqual(c.queries(name), c.searchParams.getAll(name));
    return c.json(seen);
  });
  return app;
}

function check(query: string, seen: Seen): void {
  assert.equal(seen.proto, true, 'c.query has no prototype');
  const sent = new Map<string, string>();
  for (const [k, v] of seen.all) if (!sent.has(k)) sent.set(k, v);
  // Sorted: integer-like names come first in an object's own keys, whatever the query's order.
  const byName = (a: [string, string], b: [string, string]): number =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
  assert.deepEqual(
    seen.entries.sort(byName),
    [...sent].sort(byName),
    `first values of ${JSON.stringify(query)}`,
  );
  for (const name of INHERITED) {
    assert.equal(seen.inherited[name], sent.get(name) ?? null, `${name} in ${JSON.stringify(query)}`);
  }
}

test('c.query from raw request targets: no throw, no pollution, no inherited names', async () => {
  const app = makeApp();
  const before = protoKeys();
  const runs = await fuzz({ seed: 0x9e77_0001, iterations: 5000, budgetMs: 1500 }, async (rng) => {
    const query = queryString(rng);
    // A request-like object carries the target as a server hands it over (not re-encoded).
    const request = { url: `http://localhost/q?${query}`, method: 'GET', headers: new Headers() } as Request;
    const res = await app.fetch(request);
    assert.equal(res.status, 200, query);
    const seen = (await res.json()) as Seen;
    check(query, seen);
    // And the answer agrees with URLSearchParams on the same string.
    assert.deepEqual(seen.all, [...new URLSearchParams(query)]);
  });
  assert.ok(runs > 100, `only ${runs} cases ran`);
  assert.deepEqual(protoKeys(), before, 'Object.prototype unchanged');
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

test('c.query through app.request: no throw, no pollution', async () => {
  const app = makeApp();
  const before = protoKeys();
  const runs = await fuzz({ seed: 0x9e77_0002, iterations: 2000, budgetMs: 1000 }, async (rng) => {
    const query = queryString(rng);
    const res = await app.request(`/q?${query}`);
    assert.equal(res.status, 200, query);
    check(query, (await res.json()) as Seen);
  });
  assert.ok(runs > 20, `only ${runs} cases ran`);
  assert.deepEqual(protoKeys(), before, 'Object.prototype unchanged');
});

test('a query naming every inherited name reads each as sent, first value first', async () => {
  const app = makeApp();
  const query = INHERITED.map((n) => `${n}=1&${n}=2`).join('&');
  const seen = (await (await app.request(`/q?${query}`)).json()) as Seen;
  for (const name of INHERITED) assert.equal(seen.inherited[name], '1', name);
});
