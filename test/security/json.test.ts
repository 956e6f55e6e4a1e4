/**
 * Prototype pollution through parsed request bodies: JSON keys spelled with escapes, and form and
 * multipart field names, fed to the recursive merge many apps write (lodash-style `merge`).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { App, BODY_DEFAULTS, parseBody } from '../../src/app/index.ts';

/** The classic vulnerable deep merge: follows every key of `source`, `__proto__` included. */
function merge(target: Record<string, unknown>, source: unknown): Record<string, unknown> {
  if (source === null || typeof source !== 'object') return target;
  for (const key in source as Record<string, unknown>) {
    const value = (source as Record<string, unknown>)[key];
    const current = target[key];
    if (value !== null && typeof value === 'object') {
      if (current !== null && (typeof current === 'object' || typeof current === 'function')) {
        merge(current as Record<string, unknown>, value);
      } else {
        target[key] = merge(Array.isArray(value) ? ([] as never) : {}, value);
      }
    } else target[key] = value;
  }
  return target;
}

/** Own keys that a polluted Object.prototype (or Object itself) would have gained. */
function pollution(): string[] {
  const found = Object.getOwnPropertyNames(Object.prototype).filter((k) => !ORIGINAL_PROTO.has(k));
  for (const k of Object.getOwnPropertyNames(Object)) if (!ORIGINAL_OBJECT.has(k)) found.push(`Object.${k}`);
  return found;
}
const ORIGINAL_PROTO = new Set(Object.getOwnPropertyNames(Object.prototype));
const ORIGINAL_OBJECT = new Set(Object.getOwnPropertyNames(Object));

function cleanUp(): void {
  for (const k of Object.getOwnPropertyNames(Object.prototype)) {
    if (!ORIGINAL_PROTO.has(k)) delete (Object.prototype as Record<string, unknown>)[k];
  }
  for (const k of Object.getOwnPropertyNames(Object)) {
    if (!ORIGINAL_OBJECT.has(k)) delete (Object as unknown as Record<string, unknown>)[k];
  }
}

/** An app that parses the body and merges it into its settings, as a careless app does. */
function mergingApp(): App {
  const app = new App({ log: false });
  app.post('/', async (c) => {
    const body = await parseBody(c.req);
    merge({}, body);
    return c.json({ merged: true });
  });
  return app;
}

const post = (app: App, body: string, type: string): Promise<Response> =>
  app.request('/', { method: 'POST', body, headers: { 'content-type': type } });

// Every way JSON can spell the dangerous names: each character may be a \uXXXX escape, in
// either case of hex digit.
const esc = (ch: string, upper = false): string => {
  const hex = ch.charCodeAt(0).toString(16).padStart(4, '0');
  return `\\u${upper ? hex.toUpperCase() : hex}`;
};
const PROTO_SPELLINGS = [
  '\\u005f_proto__',
  '_\\u005fproto__',
  '__\\u0070roto__',
  '__prot\\u006f__',
  '__proto_\\u005f',
  '\\u005F\\u005Fproto\\u005F\\u005F',
  [...'__proto__'].map((ch) => esc(ch)).join(''),
  [...'__proto__'].map((ch) => esc(ch, true)).join(''),
];
const CONSTRUCTOR_SPELLINGS = [
  'constructo\\u0072',
  '\\u0063onstructor',
  [...'constructor'].map((ch) => esc(ch)).join(''),
];
const PROTOTYPE_SPELLINGS = ['prototype', 'prototyp\\u0065', [...'prototype'].map((ch) => esc(ch)).join('')];

function nest(inner: string, depth: number, inArray: boolean): string {
  let text = inner;
  for (let i = 0; i < depth; i++) text = inArray && i % 2 === 0 ? `[1,${text}]` : `{"k${i}":${text}}`;
  return text;
}

const JSON_CASES: [string, string][] = [];
for (const spelling of ['__proto__', ...PROTO_SPELLINGS]) {
  for (const [depth, inArray] of [
    [0, false],
    [3, false],
    [40, false],
    [5, true],
    [41, true],
  ] as const) {
    JSON_CASES.push([
      `"${spelling}" at depth ${depth}${inArray ? ' in arrays' : ''}`,
      nest(`{"${spelling}":{"polluted":"yes"}}`, depth, inArray),
    ]);
  }
}
for (const ctor of ['constructor', ...CONSTRUCTOR_SPELLINGS]) {
  for (const proto of PROTOTYPE_SPELLINGS) {
    for (const [depth, inArray] of [
      [0, false],
      [6, true],
    ] as const) {
      JSON_CASES.push([
        `"${ctor}"."${proto}" at depth ${depth}${inArray ? ' in arrays' : ''}`,
        nest(`{"${ctor}":{"${proto}":{"polluted":"yes"}}}`, depth, inArray),
      ]);
    }
  }
}

describe('JSON: the prototype guard checks parsed keys, not the raw text', () => {
  afterEach(() => {
    const found = pollution();
    cleanUp();
    assert.deepEqual(found, [], 'Object.prototype was polluted');
  });

  test('the merge in this test does pollute when fed a parsed __proto__ (the test can fail)', () => {
    merge({}, JSON.parse('{"\\u005f_proto__":{"polluted":"yes"}}'));
    assert.equal(({} as Record<string, unknown>).polluted, 'yes');
    cleanUp();
  });

  const app = mergingApp();
  for (const [name, text] of JSON_CASES) {
    test(`${name} → 400, Object.prototype untouched`, async () => {
      const res = await post(app, text, 'application/json');
      assert.equal(res.status, 400, await res.clone().text());
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  }

  test('escapes in ordinary keys and values still parse', async () => {
    const echo = new App({ log: false });
    echo.post('/', async (c) => c.json(await parseBody(c.req)));
    const res = await post(
      echo,
      '{"\\u0061":"caf\\u00e9","constructor":"Ford","proto":{"x":1}}',
      'application/json',
    );
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { a: 'café', constructor: 'Ford', proto: { x: 1 } });
  });
});

// Form keys: urlencoded and multipart. A repeated key is an array and an upload an object, so
// `__proto__` here reaches Object.prototype through the merge; bracket paths reach it through
// qs-style expanders.
const FORM_KEYS = [
  '__proto__',
  '__proto__[x]',
  '__proto__.x',
  'a[__proto__][x]',
  'constructor',
  'constructor[prototype][x]',
  'a.constructor.prototype.x',
  'prototype',
];

describe('forms: field names that walk into prototypes are refused', () => {
  afterEach(() => {
    const found = pollution();
    cleanUp();
    assert.deepEqual(found, [], 'Object.prototype was polluted');
  });

  const app = mergingApp();
  for (const key of FORM_KEYS) {
    test(`urlencoded ${JSON.stringify(key)} (repeated) → 400`, async () => {
      const k = encodeURIComponent(key);
      const res = await post(app, `${k}=1&${k}=2&ok=1`, 'application/x-www-form-urlencoded');
      assert.equal(res.status, 400, await res.clone().text());
    });

    test(`multipart field ${JSON.stringify(key)} (a file and a field) → 400`, async () => {
      const form = new FormData();
      form.append(key, 'x');
      form.append(key, new Blob(['content']), 'f.txt');
      const encoded = new Response(form);
      const res = await app.request('/', {
        method: 'POST',
        body: await encoded.arrayBuffer(),
        headers: { 'content-type': encoded.headers.get('content-type')! },
      });
      assert.equal(res.status, 400, await res.clone().text());
    });
  }

  test('ordinary names with the words inside them still parse', async () => {
    const echo = new App({ log: false });
    echo.post('/', async (c) => c.json(await parseBody(c.req)));
    const res = await post(
      echo,
      'constructorName=a&my_proto=b&prototypes=c&a[b]=d',
      'application/x-www-form-urlencoded',
    );
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { constructorName: 'a', my_proto: 'b', prototypes: 'c', 'a[b]': 'd' });
  });
});

describe('body limits hold whatever Content-Length claims', () => {
  // strata's server refuses a malformed Content-Length before the app; a hand-made Request (the
  // test client, another runtime's adapter) can carry anything, and must not lift the limit.
  const app = new App({ log: false });
  app.post('/', async (c) => {
    const body = await parseBody(c.req, {
      ...BODY_DEFAULTS,
      json: 100,
      text: 100,
      urlencoded: 100,
      bytes: 100,
    });
    return c.json({ ok: body !== undefined });
  });
  const bodies: [string, string][] = [
    ['application/json', `{"a":"${'x'.repeat(5000)}"}`],
    ['text/plain', 'y'.repeat(5000)],
    ['application/x-www-form-urlencoded', `a=${'z'.repeat(5000)}`],
    ['application/octet-stream', 'b'.repeat(5000)],
  ];
  for (const [type, body] of bodies) {
    for (const length of ['abc', '1e1', '0x10', ' 10', '10, 10', '-1', '10']) {
      test(`${type} of 5000 bytes declared as ${JSON.stringify(length)} → 413`, async () => {
        const request = new Request('http://localhost/', {
          method: 'POST',
          body,
          headers: { 'content-type': type, 'content-length': length },
        });
        const res = await app.request(request);
        assert.equal(res.status, 413, await res.clone().text());
      });
    }
  }
});
