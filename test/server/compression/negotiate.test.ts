import assert from 'node:assert/strict';
import { test } from 'node:test';
import { negotiateEncoding } from '../../../src/server.ts';

const ALL = ['zstd', 'br', 'gzip', 'deflate'] as const;

// [Accept-Encoding, offered, expected]
const cases: [string | undefined, readonly string[], string | null][] = [
  // absent and empty: identity
  [undefined, ALL, 'identity'],
  ['', ALL, 'identity'],
  // what browsers send: all q=1, the server's order decides
  ['gzip, deflate, br, zstd', ALL, 'zstd'],
  ['gzip, deflate, br', ALL, 'br'],
  ['gzip, deflate', ALL, 'gzip'],
  ['deflate', ALL, 'deflate'],
  ['gzip, deflate, br, zstd', ['gzip', 'br'], 'gzip'],
  // q-values
  ['br;q=0.8, gzip', ALL, 'gzip'],
  ['br;q=1.0, gzip;q=0.999', ALL, 'br'],
  ['gzip;q=0.5, br;q=0.5', ALL, 'br'],
  ['gzip;q=0.001', ALL, 'gzip'],
  ['gzip;q=0', ALL, 'identity'],
  ['zstd;q=0, br;q=0, gzip;q=0.1', ALL, 'gzip'],
  ['gzip;q=1.000', ALL, 'gzip'],
  ['gzip;q=0.', ALL, 'identity'],
  ['gzip;q=1.', ALL, 'gzip'],
  // case and whitespace
  ['GZIP', ALL, 'gzip'],
  ['Br;Q=0.9', ALL, 'br'],
  ['  gzip ,\tbr  ', ALL, 'br'],
  ['gzip ; q=0.5 , deflate', ALL, 'deflate'],
  ['gzip\t;\tq=0.5', ALL, 'gzip'],
  // empty list elements (RFC 9110 §5.6.1)
  [', , gzip,,', ALL, 'gzip'],
  [',', ALL, 'identity'],
  // x-gzip is gzip (RFC 9110 §8.4.1.3)
  ['x-gzip', ALL, 'gzip'],
  // unknown codings are not offered
  ['compress, snappy', ALL, 'identity'],
  // * matches every coding not listed
  ['*', ALL, 'zstd'],
  ['*;q=0.5, zstd;q=0', ALL, 'br'],
  ['gzip, *;q=0', ALL, 'gzip'],
  ['*;q=0', ALL, null],
  ['*;q=0, identity', ALL, 'identity'],
  ['*;q=0.5', ['gzip'], 'gzip'],
  // identity
  ['identity', ALL, 'identity'],
  ['identity;q=0', ALL, null],
  ['identity;q=0, gzip', ALL, 'gzip'],
  ['gzip;q=0.5, identity', ALL, 'identity'],
  ['gzip;q=0.5, identity;q=0.5', ALL, 'gzip'],
  ['gzip, identity;q=0', ['br'], null],
  // duplicates: the first counts
  ['gzip;q=0, gzip', ALL, 'identity'],
  ['gzip, gzip;q=0', ALL, 'gzip'],
  // malformed: treated as absent
  ['gzip;q=2', ALL, 'identity'],
  ['gzip;q=1.5', ALL, 'identity'],
  ['gzip;q=0.0001', ALL, 'identity'],
  ['gzip;q=-1', ALL, 'identity'],
  ['gzip;q=', ALL, 'identity'],
  ['gzip;q', ALL, 'identity'],
  ['gzip;level=1', ALL, 'identity'],
  ['gzip;q=0.5;q=1', ALL, 'identity'],
  ['gzip br', ALL, 'identity'],
  ['gz"ip', ALL, 'identity'],
  ['gzip;', ALL, 'identity'],
  [';q=1', ALL, 'identity'],
  ['gzíp, br', ALL, 'identity'],
  ['gzip\u0000', ALL, 'identity'],
  ['gzip;q=0.5x', ALL, 'identity'],
  ['gzip;q=1e0', ALL, 'identity'],
  ['gzip;q=0x1', ALL, 'identity'],
  // more offered than four
  ['e', ['a', 'b', 'c', 'd', 'e'], 'e'],
  ['e;q=0.5, a;q=0.4', ['a', 'b', 'c', 'd', 'e'], 'e'],
];

for (const [header, offered, expected] of cases) {
  test(`Accept-Encoding ${JSON.stringify(header)} offered [${offered.join(',')}] → ${expected}`, () => {
    assert.equal(negotiateEncoding(header, offered), expected);
  });
}

test('a huge header (16 KB of entries) is read to the end: the last entry still counts', () => {
  const header = `${'snappy;q=0.5, '.repeat(1200)}br`;
  assert.ok(header.length > 16_000);
  assert.equal(negotiateEncoding(header, ALL), 'br');
});

test('a huge malformed header answers identity', () => {
  assert.equal(negotiateEncoding(`${'a'.repeat(20_000)} b`, ALL), 'identity');
  assert.equal(negotiateEncoding(';'.repeat(20_000), ALL), 'identity');
  assert.equal(negotiateEncoding(`gzip;q=${'0'.repeat(20_000)}`, ALL), 'identity');
});

test('a header of only separators and whitespace names nothing', () => {
  assert.equal(negotiateEncoding(`${', \t'.repeat(5000)}`, ALL), 'identity');
});
