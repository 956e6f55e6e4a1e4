import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SSE_DEFAULTS } from '../../src/app/sse.ts';
import {
  isWebSocketRequest,
  originAllowed,
  REALTIME_DEFAULTS,
  REDIS_BROKER_DEFAULTS,
  resolveWebSocketOptions,
  selectProtocol,
} from '../../src/realtime/index.ts';

const DOC = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'realtime.md'), 'utf8');

test('docs/realtime.md lists every WebSocket, SSE and Redis option with the default the code uses', () => {
  const rows = new Map<string, string>();
  for (const m of DOC.matchAll(/^\|\s*`(\w+)`\s*\|\s*`([^`]+)`\s*\|/gm)) rows.set(m[1]!, m[2]!);
  for (const [key, value] of Object.entries({
    ...REALTIME_DEFAULTS,
    ...SSE_DEFAULTS,
    ...REDIS_BROKER_DEFAULTS,
  })) {
    assert.ok(rows.has(key), `docs/realtime.md has no row for ${key}`);
    assert.equal(rows.get(key), String(value), `documented default of ${key}`);
  }
});

const bad: [string, Record<string, unknown>][] = [
  ['negative maxPayload', { maxPayload: -1 }],
  ['zero maxPayload', { maxPayload: 0 }],
  ['fractional heartbeat', { heartbeatInterval: 1.5 }],
  ['string limit', { backpressureLimit: '1mb' }],
  ['window bits too small', { deflateWindowBits: 7 }],
  ['window bits too large', { deflateWindowBits: 16 }],
  ['memLevel 0', { deflateMemLevel: 0 }],
  ['deflate as a string', { perMessageDeflate: 'yes' }],
  ['origins as a string', { allowedOrigins: 'https://a.example' }],
  ['origins with a number', { allowedOrigins: ['https://a.example', 3] }],
];
for (const [name, options] of bad) {
  test(`websocket options: ${name} is refused, naming the option`, () => {
    const key = Object.keys(options)[0]!;
    assert.throws(() => resolveWebSocketOptions(options as never), new RegExp(key));
  });
}

test('websocket options: defaults, and a valid override', () => {
  const o = resolveWebSocketOptions({ maxPayload: 10, allowedOrigins: ['HTTPS://A.example:443/x'] });
  assert.equal(o.maxPayload, 10);
  assert.equal(o.heartbeatInterval, REALTIME_DEFAULTS.heartbeatInterval);
  assert.deepEqual([...(o.allowedOrigins as Set<string>)], ['https://a.example']);
});

const origins: [string, string | undefined, boolean][] = [
  ['http://127.0.0.1:3000', '127.0.0.1:3000', true],
  ['http://example.com', 'example.com:80', true],
  ['https://example.com', 'EXAMPLE.com', true],
  ['http://example.com:8080', 'example.com', false],
  ['http://evil.example', 'example.com', false],
  ['http://example.com.evil.example', 'example.com', false],
  ['null', 'example.com', false],
  ['not a url', 'example.com', false],
  ['http://example.com', undefined, false],
];
for (const [origin, host, ok] of origins) {
  test(`same-origin check: Origin ${origin} with Host ${host} → ${ok ? 'allowed' : 'refused'}`, () => {
    assert.equal(originAllowed(origin, host, undefined), ok);
  });
}

test('subprotocol selection follows the route order; no overlap refuses', () => {
  assert.equal(selectProtocol('a, b', ['b', 'a']), 'b');
  assert.equal(selectProtocol('a', undefined), false);
  assert.equal(selectProtocol(undefined, ['a']), false);
  assert.equal(selectProtocol('c', ['a', 'b']), undefined);
});

test('only Upgrade: websocket leaves the request path', () => {
  const req = (upgrade?: string) => ({ headers: upgrade === undefined ? {} : { upgrade } }) as never;
  assert.equal(isWebSocketRequest(req('websocket')), true);
  assert.equal(isWebSocketRequest(req('WebSocket')), true);
  assert.equal(isWebSocketRequest(req('h2c')), false);
  assert.equal(isWebSocketRequest(req('foo, websocket')), true);
  assert.equal(isWebSocketRequest(req()), false);
});
