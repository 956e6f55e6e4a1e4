/**
 * NodeHeaders: `request.headers`, read from node's rawHeaders in place until something iterates
 * or mutates it, then a real `Headers`. Both phases must answer the same, as Fetch says.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { StrataServer } from '../../src/server.ts';
import { bodyOf, start } from '../fixtures/gateway/helpers.ts';
import { rawRequest } from '../fixtures/http.ts';

/** Names the app probes with get()/has(), lazily and again after materializing. */
const PROBES = ['x-a', 'X-A', 'x-A', 'x-b', 'x-empty', 'set-cookie', 'missing', 'host', 'content-length'];

type Outcome = { value: string | null } | { error: string };

function attempt(fn: () => string | boolean | null): Outcome {
  try {
    const value = fn();
    return { value: typeof value === 'boolean' ? String(value) : value };
  } catch (err) {
    return { error: (err as Error).name };
  }
}

/** An app that reports what `request.headers` answers, selected by the path. */
function app(request: Request): Response {
  const h = request.headers;
  const path = new URL(request.url).pathname;
  const probe = request.headers.get('x-probe');
  const probes: string[] = probe === null ? [] : JSON.parse(decodeURIComponent(probe));
  const names = [...PROBES, ...probes];
  if (path === '/probe') {
    const lazyGet = names.map((n) => attempt(() => h.get(n)));
    const lazyHas = names.map((n) => attempt(() => h.has(n)));
    const entries = [...h].filter(([k]) => k.startsWith('x-') || k === 'set-cookie');
    const nativeGet = names.map((n) => attempt(() => h.get(n)));
    const nativeHas = names.map((n) => attempt(() => h.has(n)));
    return Response.json({ names, lazyGet, lazyHas, nativeGet, nativeHas, entries });
  }
  if (path === '/shape') {
    return Response.json({
      instance: h instanceof Headers,
      tag: Object.prototype.toString.call(h),
      same: request.headers === h,
      getSetCookie: h.getSetCookie(),
    });
  }
  if (path === '/iterate') {
    const forEach: [string, string, boolean][] = [];
    h.forEach((value, key, parent) => {
      if (key.startsWith('x-')) forEach.push([key, value, parent === h]);
    });
    return Response.json({
      entries: [...h.entries()].filter(([k]) => k.startsWith('x-')),
      keys: [...h.keys()].filter((k) => k.startsWith('x-')),
      values: [...h.values()],
      forEach,
    });
  }
  if (path === '/mutate-first' || path === '/mutate-after-read') {
    const before = path === '/mutate-after-read' ? h.get('x-a') : null;
    h.set('x-set', 'one');
    h.set('x-a', 'replaced');
    h.append('x-b', 'appended');
    h.append('x-new', 'n1');
    h.append('X-New', 'n2');
    h.delete('x-c');
    const setRejects = attempt(() => {
      h.set('x-bad', 'a\r\nx-injected: 1');
      return 'accepted';
    });
    return Response.json({
      before,
      a: h.get('x-a'),
      b: h.get('x-b'),
      c: h.get('x-c'),
      hasC: h.has('x-c'),
      set: h.get('X-SET'),
      added: h.get('x-new'),
      setRejects,
      entries: [...h].filter(([k]) => k.startsWith('x-')),
    });
  }
  if (path === '/copy') {
    const copy = new Headers(h);
    copy.set('x-a', 'changed in the copy');
    return Response.json({ copy: copy.get('x-a'), original: h.get('x-a') });
  }
  if (path === '/echo') {
    return new Response('echo', { headers: h });
  }
  return new Response('no route', { status: 404 });
}

async function ask(port: number, path: string, headerLines: string[]): Promise<Record<string, unknown>> {
  const res = await rawRequest(
    port,
    [`GET ${path} HTTP/1.1`, 'Host: h', ...headerLines, 'Connection: close', '', ''].join('\r\n'),
  );
  assert.equal(res.status, 200, res.text);
  return JSON.parse(Buffer.from(bodyOf(res.text), 'latin1').toString('utf8'));
}

describe('request.headers (NodeHeaders)', () => {
  let server: StrataServer;
  before(async () => {
    server = await start(app);
  });
  after(() => server.close());

  test('is a Headers for instanceof and toString, and the same object on every access', async () => {
    const seen = await ask(server.port, '/shape', ['Set-Cookie: a=1', 'set-cookie: b=2']);
    assert.equal(seen.instance, true);
    assert.equal(seen.tag, '[object Headers]');
    assert.equal(seen.same, true);
    assert.deepEqual(seen.getSetCookie, ['a=1', 'b=2'], 'getSetCookie keeps cookies separate');
  });

  // Each case: header lines sent, and what get() must answer for the probe names, by name.
  const combining: { name: string; lines: string[]; expect: Record<string, string | null> }[] = [
    { name: 'one header', lines: ['X-A: 1'], expect: { 'x-a': '1', 'X-A': '1', 'x-A': '1' } },
    {
      name: 'a repeat in another case',
      lines: ['X-A: 1', 'x-a: 2'],
      expect: { 'x-a': '1, 2', 'X-A': '1, 2', 'x-b': null },
    },
    { name: 'three repeats', lines: ['x-a: 1', 'X-a: 2', 'X-A: 3'], expect: { 'x-a': '1, 2, 3' } },
    {
      name: 'repeats with other headers between',
      lines: ['x-a: 1', 'x-b: b', 'x-a: 2'],
      expect: { 'x-a': '1, 2', 'x-b': 'b' },
    },
    { name: 'an empty value', lines: ['X-Empty:'], expect: { 'x-empty': '' } },
    {
      name: 'an empty value among repeats',
      lines: ['x-a: 1', 'x-a:', 'x-a: 3'],
      expect: { 'x-a': '1, , 3' },
    },
    {
      name: 'values with inner commas and spaces',
      lines: ['x-a: one, two', 'x-a:   three  '],
      expect: { 'x-a': 'one, two, three' },
    },
    {
      name: 'Set-Cookie repeats (get combines them)',
      lines: ['Set-Cookie: a=1', 'Set-Cookie: b=2'],
      expect: { 'set-cookie': 'a=1, b=2' },
    },
    { name: 'no such header', lines: [], expect: { missing: null, 'x-a': null } },
    { name: 'Host', lines: [], expect: { host: 'h' } },
  ];
  for (const { name, lines, expect } of combining) {
    test(`get()/has() with ${name}: lazy and materialized agree with Fetch`, async () => {
      const seen = (await ask(server.port, '/probe', lines)) as {
        names: string[];
        lazyGet: Outcome[];
        lazyHas: Outcome[];
        nativeGet: Outcome[];
        nativeHas: Outcome[];
      };
      assert.deepEqual(seen.lazyGet, seen.nativeGet, 'get() before and after materializing');
      assert.deepEqual(seen.lazyHas, seen.nativeHas, 'has() before and after materializing');
      for (const [probe, value] of Object.entries(expect)) {
        const i = seen.names.indexOf(probe);
        assert.deepEqual(seen.lazyGet[i], { value }, `get(${probe})`);
        assert.deepEqual(seen.lazyHas[i], { value: String(value !== null) }, `has(${probe})`);
      }
    });
  }

  // Names Fetch refuses: undici's Headers throws a TypeError for them in get() and has().
  const invalidNames = ['bad name', '', 'x:a', 'x\u00e9'];
  for (const probe of invalidNames) {
    test(`get(${JSON.stringify(probe)}) answers the same before and after materializing`, async () => {
      const seen = (await ask(server.port, '/probe', [
        `X-Probe: ${encodeURIComponent(JSON.stringify([probe]))}`,
      ])) as {
        names: string[];
        lazyGet: Outcome[];
        nativeGet: Outcome[];
        lazyHas: Outcome[];
        nativeHas: Outcome[];
      };
      const i = seen.names.lastIndexOf(probe);
      assert.deepEqual(seen.nativeGet[i], { error: 'TypeError' }, 'undici refuses the name');
      assert.deepEqual(seen.lazyGet[i], seen.nativeGet[i]);
      assert.deepEqual(seen.lazyHas[i], seen.nativeHas[i]);
    });
  }

  test('iteration is sorted, lowercase and combined; forEach passes the headers as parent', async () => {
    const seen = await ask(server.port, '/iterate', ['X-B: 2', 'X-A: 1', 'x-a: 3', 'X-C: c']);
    assert.deepEqual(seen.entries, [
      ['x-a', '1, 3'],
      ['x-b', '2'],
      ['x-c', 'c'],
    ]);
    assert.deepEqual(seen.keys, ['x-a', 'x-b', 'x-c']);
    assert.ok((seen.values as string[]).includes('1, 3'));
    assert.deepEqual(seen.forEach, [
      ['x-a', '1, 3', true],
      ['x-b', '2', true],
      ['x-c', 'c', true],
    ]);
  });

  for (const path of ['/mutate-first', '/mutate-after-read']) {
    test(`set/append/delete work (${path}), and values are validated`, async () => {
      const seen = await ask(server.port, path, ['X-A: 1', 'X-B: 2', 'X-C: 3']);
      if (path === '/mutate-after-read') assert.equal(seen.before, '1');
      assert.equal(seen.a, 'replaced');
      assert.equal(seen.b, '2, appended');
      assert.equal(seen.c, null);
      assert.equal(seen.hasC, false);
      assert.equal(seen.set, 'one');
      assert.equal(seen.added, 'n1, n2');
      assert.deepEqual(seen.setRejects, { error: 'TypeError' });
      assert.deepEqual(seen.entries, [
        ['x-a', 'replaced'],
        ['x-b', '2, appended'],
        ['x-new', 'n1, n2'],
        ['x-set', 'one'],
      ]);
    });
  }

  test('new Headers(request.headers) copies; the copy does not write through', async () => {
    const seen = await ask(server.port, '/copy', ['X-A: 1', 'x-a: 2']);
    assert.deepEqual(seen, { copy: 'changed in the copy', original: '1, 2' });
  });

  test('request.headers as a response init is written with every header', async () => {
    const res = await rawRequest(
      server.port,
      'GET /echo HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\nX-Echo: yes\r\nConnection: close\r\n\r\n',
    );
    assert.equal(res.status, 200);
    assert.match(res.text, /\r\nx-a: 1, 2\r\n/i);
    assert.match(res.text, /\r\nx-echo: yes\r\n/i);
  });
});
