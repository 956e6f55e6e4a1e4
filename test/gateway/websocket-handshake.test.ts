/**
 * The WebSocket handshake's one rule (src/gateway/websocket-handshake.ts) as a table, and both
 * doors asking it: realtime's vetHandshake (node's IncomingMessage, behind strata's server) and
 * the web runtimes' (a web Request, for Bun and Deno) give the same answer to the same head.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { vetHandshake as vetWebRequest } from '../../src/gateway/web-runtime.ts';
import {
  type HandshakeHead,
  selectSubprotocol,
  upgradesToWebSocket,
  vetWebSocketHandshake,
} from '../../src/gateway/websocket-handshake.ts';
import { vetHandshake as vetNodeRequest } from '../../src/realtime/handshake.ts';
import { normalizeOrigin } from '../../src/realtime/options.ts';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const OK: HandshakeHead = {
  method: 'GET',
  http11: true,
  version: '13',
  key: KEY,
  origin: 'http://app.example',
  host: 'app.example',
};

// [name, head, allowed origins, status or undefined for a pass]
const TABLE: [string, Partial<HandshakeHead>, string[] | '*' | undefined, number | undefined][] = [
  ['a same-origin handshake', {}, undefined, undefined],
  ['no Origin (not a browser)', { origin: undefined }, undefined, undefined],
  ['a default port in Host', { host: 'app.example:80' }, undefined, undefined],
  ['a POST', { method: 'POST' }, undefined, 400],
  ['version 8', { version: '8' }, undefined, 426],
  ['no version', { version: undefined }, undefined, 426],
  ['no key', { key: undefined }, undefined, 400],
  ['a key of 15 bytes', { key: 'dGhlIHNhbXBsZSBub25jZQ=' }, undefined, 400],
  ['a key with a bad last character', { key: 'dGhlIHNhbXBsZSBub25jZB==' }, undefined, 400],
  ['a cross-site Origin', { origin: 'http://evil.example' }, undefined, 403],
  ["the 'null' Origin", { origin: 'null' }, undefined, 403],
  [
    'a listed Origin, written otherwise',
    { origin: 'HTTP://Other.example:80' },
    ['http://other.example'],
    undefined,
  ],
  ['an unlisted Origin', { origin: 'http://app.example' }, ['http://other.example'], 403],
  ['any Origin with *', { origin: 'http://evil.example' }, '*', undefined],
];

const asNode = (head: HandshakeHead): IncomingMessage => {
  const headers: Record<string, string> = {};
  if (head.version) headers['sec-websocket-version'] = head.version;
  if (head.key) headers['sec-websocket-key'] = head.key;
  if (head.origin) headers.origin = head.origin;
  if (head.host) headers.host = head.host;
  return {
    method: head.method,
    httpVersionMajor: 1,
    httpVersionMinor: 1,
    headers,
  } as unknown as IncomingMessage;
};

const asWeb = (head: HandshakeHead): Request => {
  const headers = new Headers();
  if (head.version) headers.set('sec-websocket-version', head.version);
  if (head.key) headers.set('sec-websocket-key', head.key);
  if (head.origin) headers.set('origin', head.origin);
  if (head.host) headers.set('host', head.host);
  return new Request('http://app.example/ws', { method: head.method!, headers });
};

for (const [name, change, allowed, status] of TABLE) {
  test(`handshake: ${name} → ${status ?? 'pass'}, the same through both doors`, () => {
    const head = { ...OK, ...change };
    assert.equal(vetWebSocketHandshake(head, allowed)?.status, status);
    const nodeAllowed = Array.isArray(allowed) ? new Set(allowed.map(normalizeOrigin)) : allowed;
    assert.equal(vetNodeRequest(asNode(head), nodeAllowed)?.status, status, 'node door');
    assert.equal(vetWebRequest(asWeb(head), allowed)?.status, status, 'web door');
  });
}

test('handshake: 426 names the version spoken, on both doors', () => {
  const head = { ...OK, version: '8' };
  assert.deepEqual(vetNodeRequest(asNode(head), undefined)?.headers, { 'Sec-WebSocket-Version': '13' });
  assert.equal(vetWebRequest(asWeb(head), undefined)?.headers.get('sec-websocket-version'), '13');
});

test('handshake: HTTP/1.0 is refused', () => {
  assert.equal(vetWebSocketHandshake({ ...OK, http11: false }, undefined)?.status, 400);
});

test('subprotocols: the route’s order wins; no offer or no route protocols selects none; an unmatched offer is refused', () => {
  assert.equal(selectSubprotocol('v1, v2', ['v2', 'v1']), 'v2');
  assert.equal(selectSubprotocol(' v0 ,\tv1', ['v1']), 'v1');
  assert.equal(selectSubprotocol(null, ['v1']), false);
  assert.equal(selectSubprotocol('', ['v1']), false);
  assert.equal(selectSubprotocol('v1', undefined), false);
  assert.equal(selectSubprotocol('v1', []), false);
  assert.equal(selectSubprotocol('v9', ['v1']), undefined);
});

test('Upgrade: websocket, in any case, alone or in a list', () => {
  for (const value of ['websocket', 'WebSocket', 'h2c, websocket', 'websocket ,foo'])
    assert.ok(upgradesToWebSocket(value), value);
  for (const value of [undefined, null, '', 'h2c', 'websockets', 'web socket'])
    assert.ok(!upgradesToWebSocket(value), String(value));
});
