import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isBodilessResponse,
  isErrorStatus,
  isToken,
  isWellFormedRequestId,
  listElements,
  pathOf,
  pathStart,
  queryStart,
  rawHeader,
  rawHeaderIndex,
  rawHeaderList,
  searchOf,
  serializedPathStart,
  TCHAR,
  trimOws,
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

test('OWS: only SP and HTAB are trimmed (RFC 9110 §5.6.3), not what String.trim() takes', () => {
  const table: [string, string][] = [
    [' \t chunked \t', 'chunked'],
    ['chunked', 'chunked'],
    ['', ''],
    ['  ', ''],
    ['chunked\u00a0', 'chunked\u00a0'],
    ['\u000bgzip', '\u000bgzip'],
    ['\fgzip\r', '\fgzip\r'],
    ['a b', 'a b'],
  ];
  for (const [value, trimmed] of table) assert.equal(trimOws(value), trimmed, JSON.stringify(value));
  assert.deepEqual(listElements(' gzip ,\tchunked,, br\u00a0'), ['gzip', 'chunked', '', 'br\u00a0']);
  assert.deepEqual(listElements(''), ['']);
});

test('URL → path: targets and absolute URLs, without query or fragment, as sent', () => {
  const table: [string, string, string][] = [
    // url, path, search
    ['/a/b?c=1', '/a/b', '?c=1'],
    ['/a/b', '/a/b', ''],
    ['/', '/', ''],
    ['http://h/a?b#c', '/a', '?b'],
    ['https://h:8443/a%2Fb/?x=/y', '/a%2Fb/', '?x=/y'],
    ['http://h', '/', ''],
    ['http://h?q=/x', '/', '?q=/x'],
    ['http://h#/x', '/', ''],
    ['http://h/a#f?g', '/a', ''],
    ['/a?', '/a', '?'],
    ['', '/', ''],
    ['*', '*', ''],
  ];
  for (const [url, path, search] of table) {
    assert.equal(pathOf(url), path, `pathOf ${url}`);
    assert.equal(searchOf(url), search, `searchOf ${url}`);
  }
  for (const url of ['http://h/', 'http://127.0.0.1:3000/a?b=/c', 'https://[::1]:8443/x/y#z', 'http://h/?q'])
    assert.equal(serializedPathStart(new Request(url).url), pathStart(new Request(url).url), url);
  assert.equal(pathStart('http://127.0.0.1:3000/x'), 21);
  assert.equal(pathStart('/x'), 0);
  assert.equal(queryStart('/x?y'), 2);
  assert.equal(queryStart('/x#?y'), -1);
});

test('error statuses: integers from 400 to 599', () => {
  for (const status of [400, 404, 499, 500, 599]) assert.ok(isErrorStatus(status), String(status));
  for (const status of [399, 600, 200, 404.5, Number.NaN, '404', undefined, null])
    assert.ok(!isErrorStatus(status), String(status));
});

test('request ids: 1–128 visible ASCII but quote and backslash (one rule for the access log and requestId())', () => {
  const table: [string, boolean][] = [
    ['7f3c9b2e4d1a48c6b0e5f7a9c3d2e1b0', true],
    ['123e4567-e89b-12d3-a456-426614174000', true],
    ['Root=1-5759e988;Parent=53995c3f', true],
    ['x'.repeat(128), true],
    ['', false],
    ['x'.repeat(129), false],
    ['a b', false],
    ['a"b', false],
    ['a\\b', false],
    ['a\r\nb', false],
    ['a\tb', false],
    ['\u007f', false],
    ['é', false],
  ];
  for (const [id, ok] of table) assert.equal(isWellFormedRequestId(id), ok, JSON.stringify(id));
});
