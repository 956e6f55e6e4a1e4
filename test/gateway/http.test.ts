import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isBodilessResponse,
  isToken,
  rawHeader,
  rawHeaderIndex,
  rawHeaderList,
  TCHAR,
} from '../../src/gateway/http.ts';

test('tokens: the tchar set of RFC 9110 §5.6.2, as a regex and as a byte table', () => {
  for (let c = 0; c < 256; c++) {
    const ch = String.fromCharCode(c);
    assert.equal(TCHAR[c] === 1, isToken(ch), `byte ${c}`);
  }
  assert.ok(isToken('Content-Type'));
  assert.ok(!isToken(''));
  assert.ok(!isToken('a b'));
  assert.ok(!isToken('a:b'));
});

test('raw header lookup: first field by lowercase name, in any case; lists joined', () => {
  const raw = ['Host', 'x', 'ACCEPT-ENCODING', 'gzip', 'accept-encoding', 'br', 'Content-Length', '3'];
  assert.equal(rawHeaderIndex(raw, 'host'), 1);
  assert.equal(rawHeaderIndex(raw, 'hosts'), -1);
  assert.equal(rawHeader(raw, 'content-length'), '3');
  assert.equal(rawHeader(raw, 'accept-encoding'), 'gzip');
  assert.equal(rawHeaderList(raw, 'accept-encoding'), 'gzip, br');
  assert.equal(rawHeaderList(raw, 'te'), undefined);
});

test('bodiless responses: HEAD, 1xx, 204, 304', () => {
  const table: [string, number, boolean][] = [
    ['HEAD', 200, true],
    ['GET', 204, true],
    ['GET', 304, true],
    ['GET', 103, true],
    ['GET', 200, false],
    ['POST', 205, false],
    ['GET', 404, false],
  ];
  for (const [method, status, expected] of table)
    assert.equal(isBodilessResponse(method, status), expected, `${method} ${status}`);
});
