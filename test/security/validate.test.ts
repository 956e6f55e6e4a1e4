/**
 * What `validate()` hands a schema: own keys only. An object that inherits from Object.prototype
 * makes an absent `constructor` or `toString` look present, garbles a repeated `toString` key and
 * loses a `__proto__` key; the parts are null-prototype objects instead.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { App, type StandardSchemaV1, validate } from '../../src/app/index.ts';

/** A hand-written Standard Schema that reports what it was given, as a careless schema reads it. */
const probe: StandardSchemaV1<unknown, Record<string, unknown>> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate(value) {
      const v = value as Record<string, unknown>;
      return {
        value: {
          keys: Object.keys(v),
          prototype: Object.getPrototypeOf(v) === null ? 'null' : 'Object.prototype',
          hasToString: 'toString' in v,
          toString: typeof v.toString,
          constructor: typeof v.constructor,
          proto: Object.hasOwn(v, '__proto__')
            ? Object.getOwnPropertyDescriptor(v, '__proto__')!.value
            : 'absent',
        },
      };
    },
  },
};

/** A hand-written schema requiring a key, checked the way most code checks presence. */
const requires = (key: string): StandardSchemaV1 => ({
  '~standard': {
    version: 1,
    vendor: 'test',
    validate(value) {
      const v = value as Record<string, unknown>;
      return v[key] === undefined
        ? { issues: [{ message: `${key} is required`, path: [key] }] }
        : { value: v };
    },
  },
});

type Part = 'query' | 'headers' | 'cookies' | 'params';

function appFor(part: Part, schema: StandardSchemaV1): App {
  const app = new App({ log: false });
  app.get('/p/:id', validate({ [part]: schema }), (c) =>
    c.json((c.valid as Record<string, unknown>)[part] ?? null),
  );
  return app;
}

const PARTS: Part[] = ['query', 'headers', 'cookies', 'params'];

describe('validate(): every part reaches the schema as own keys only', () => {
  for (const part of PARTS) {
    test(`${part}: a hand-written schema sees no inherited keys`, async () => {
      const res = await appFor(part, probe).request('/p/1');
      assert.equal(res.status, 200);
      const seen = (await res.json()) as Record<string, unknown>;
      assert.equal(seen.prototype, 'null');
      assert.equal(seen.hasToString, false);
      assert.equal(seen.toString, 'undefined');
      assert.equal(seen.constructor, 'undefined');
    });

    for (const key of ['toString', 'constructor', 'hasOwnProperty', '__proto__']) {
      test(`${part}: an absent "${key}" does not validate as present (hand-written schema)`, async () => {
        const res = await appFor(part, requires(key)).request('/p/1');
        assert.equal(res.status, 400, await res.clone().text());
      });
    }
  }

  test('query: "__proto__", "constructor" and "toString" keys arrive as the client sent them', async () => {
    const res = await appFor('query', probe).request('/p/1?__proto__=x&constructor=y&toString=z');
    const seen = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(seen.keys, ['__proto__', 'constructor', 'toString']);
    assert.equal(seen.proto, 'x');
    assert.equal(seen.toString, 'string');
    assert.equal(seen.constructor, 'string');
  });

  test('query: a repeated "toString" key is the array of its values', async () => {
    const app = appFor('query', z.object({ toString: z.array(z.string()) }));
    const res = await app.request('/p/1?toString=a&toString=b');
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { toString: ['a', 'b'] });
  });

  const zodCases: [string, StandardSchemaV1, string, number][] = [
    ['an absent constructor (z.any())', z.object({ constructor: z.any() }), '', 400],
    [
      'an absent toString (z.unknown())',
      z.object({ toString: z.unknown().refine((v) => v !== undefined) }),
      '',
      400,
    ],
    ['an absent toString (optional string)', z.object({ toString: z.string().optional() }), '', 200],
    ['a present constructor', z.object({ constructor: z.string() }), '?constructor=x', 200],
  ];
  for (const [name, schema, query, status] of zodCases) {
    test(`query with zod: ${name} → ${status}`, async () => {
      const res = await appFor('query', schema).request(`/p/1${query}`);
      assert.equal(res.status, status, await res.clone().text());
    });
  }

  test('headers with zod: an absent constructor header is absent', async () => {
    const res = await appFor('headers', z.object({ constructor: z.any() })).request('/p/1');
    assert.equal(res.status, 400);
  });
});
