/**
 * Static files from the memory cache on the fast lane: the lane answers them itself (its one
 * write, no node response), with the same status, fields and body as node's path gives for the
 * same request, and the same access-log line. A table of requests, run against both transports.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { StaticFiles } from '../../src/server/static/static-files.ts';
import { serve } from '../../src/server.ts';
import { rawRequest } from '../fixtures/http.ts';

let root: string;
const TEXT = 'abcdefghijklmnopqrstuvwxyz'.repeat(40);
const MTIME = new Date('2026-01-02T03:04:05Z');

before(() => {
  root = mkdtempSync(join(tmpdir(), 'strata-static-lane-'));
  writeFileSync(join(root, 'a.txt'), TEXT);
  writeFileSync(join(root, 'empty.txt'), '');
  writeFileSync(join(root, 'style.css'), TEXT);
  writeFileSync(join(root, 'style.css.gz'), gzipSync(TEXT));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** The request table: name, method, path, extra header lines. */
const cases: [name: string, method: string, path: string, headers: string][] = [
  ['a whole file', 'GET', '/a.txt', ''],
  ['HEAD', 'HEAD', '/a.txt', ''],
  ['with a query', 'GET', '/a.txt?v=1', ''],
  ['an empty file', 'GET', '/empty.txt', ''],
  ['a matching If-None-Match', 'GET', '/a.txt', 'If-None-Match: ETAG\r\n'],
  ['If-None-Match in two fields', 'GET', '/a.txt', 'If-None-Match: "x"\r\nIf-None-Match: ETAG\r\n'],
  ['a matching If-Modified-Since', 'GET', '/a.txt', `If-Modified-Since: ${MTIME.toUTCString()}\r\n`],
  ['an old If-Modified-Since', 'GET', '/a.txt', 'If-Modified-Since: Thu, 01 Jan 2026 00:00:00 GMT\r\n'],
  ['a failed If-Match', 'GET', '/a.txt', 'If-Match: "nope"\r\n'],
  ['one range', 'GET', '/a.txt', 'Range: bytes=10-19\r\n'],
  ['a suffix range', 'GET', '/a.txt', 'Range: bytes=-5\r\n'],
  ['a HEAD range', 'HEAD', '/a.txt', 'Range: bytes=0-3\r\n'],
  ['an unsatisfiable range', 'GET', '/a.txt', 'Range: bytes=5000-6000\r\n'],
  ['two ranges (multipart)', 'GET', '/a.txt', 'Range: bytes=0-1,5-6\r\n'],
  ['a range and a stale If-Range', 'GET', '/a.txt', 'Range: bytes=0-3\r\nIf-Range: "old"\r\n'],
  ['gzip accepted', 'GET', '/style.css', 'Accept-Encoding: gzip\r\n'],
  ['gzip in a second field', 'GET', '/style.css', 'Accept-Encoding: br\r\nAccept-Encoding: gzip\r\n'],
  ['gzip refused', 'GET', '/style.css', 'Accept-Encoding: gzip;q=0\r\n'],
];

/** The response's status line, its fields sorted (Date dropped), and its body. */
function normalise(text: string, etag: string): { head: string[]; body: string } {
  const at = text.indexOf('\r\n\r\n');
  const lines = text.slice(0, at).split('\r\n');
  const fields = lines
    .slice(1)
    .filter((l) => !/^date:/i.test(l))
    .map((l) => l.replace(etag, 'ETAG').toLowerCase())
    .sort();
  // A multipart boundary is made per response.
  const body = text.slice(at + 4).replace(/strata-[0-9a-z]+-[0-9a-z]+/g, 'BOUNDARY');
  // ... and its length with it.
  const multipart = body !== text.slice(at + 4);
  const head = fields
    .filter((f) => !(multipart && f.startsWith('content-length:')))
    .map((f) => f.replace(/strata-[0-9a-z]+-[0-9a-z]+/g, 'BOUNDARY'));
  return { head: [lines[0]!, ...head], body };
}

async function run(
  fastLane: boolean,
  log: string,
): Promise<{
  answers: Map<string, { head: string[]; body: string }>;
  handled: number;
  lines: { status: number; bytes: number }[];
}> {
  const { utimesSync } = await import('node:fs');
  for (const f of ['a.txt', 'empty.txt', 'style.css', 'style.css.gz'])
    utimesSync(join(root, f), MTIME, MTIME);
  const server = await serve(() => new Response('app', { status: 404 }), {
    port: 0,
    logger: false,
    fastLane,
    static: { root, revalidateMs: 60_000 },
    accessLog: { format: 'json', destination: log, requestId: false, bufferSize: 0 },
  });
  const handle = StaticFiles.prototype.handle;
  let handled = 0;
  const answers = new Map<string, { head: string[]; body: string }>();
  try {
    // Warm the cache: the first request for each path looks the file up.
    for (const path of ['/a.txt', '/a.txt?v=1', '/empty.txt', '/style.css']) {
      const warm = await rawRequest(
        server.port,
        `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(warm.status, 200, path);
    }
    const first = await rawRequest(
      server.port,
      'HEAD /a.txt HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
    );
    const etag = /etag: ("[^"]+")/i.exec(first.text)![1]!;
    StaticFiles.prototype.handle = function (this: StaticFiles, ...args: Parameters<StaticFiles['handle']>) {
      handled += 1;
      return handle.apply(this, args);
    };
    for (const [name, method, path, headers] of cases) {
      const reply = await rawRequest(
        server.port,
        `${method} ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n${headers.replace('ETAG', etag)}\r\n`,
      );
      answers.set(name, normalise(reply.text, etag));
    }
  } finally {
    StaticFiles.prototype.handle = handle;
    await server.close();
  }
  const lines = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .slice(5)
    .map((l) => {
      const { status, bytes } = JSON.parse(l) as { status: number; bytes: number };
      return { status, bytes };
    });
  return { answers, handled, lines };
}

describe('static files from memory on the fast lane', () => {
  test('the same answers and log lines as node’s path; only multipart leaves the lane', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-static-lane-log-'));
    try {
      const lane = await run(true, join(dir, 'lane.log'));
      const node = await run(false, join(dir, 'node.log'));
      for (const [name] of cases) assert.deepEqual(lane.answers.get(name), node.answers.get(name), name);
      // (A multipart body's length depends on its random boundary.)
      const multipart = cases.findIndex(([name]) => name.includes('multipart'));
      const masked = (lines: { status: number; bytes: number }[]) =>
        lines.map((l, i) => (i === multipart ? { ...l, bytes: -1 } : l));
      assert.deepEqual(masked(lane.lines), masked(node.lines));
      assert.equal(lane.lines.length, cases.length);
      // Every case but the multipart one is answered by the lane from memory.
      assert.equal(lane.handled, 1);
      assert.equal(node.handled, cases.length);
      // Spot checks, so that "the same" is also right.
      assert.match(lane.answers.get('a matching If-None-Match')!.head[0]!, / 304 /);
      assert.match(lane.answers.get('If-None-Match in two fields')!.head[0]!, / 304 /);
      assert.match(lane.answers.get('a failed If-Match')!.head[0]!, / 412 /);
      assert.equal(lane.answers.get('one range')!.body, TEXT.slice(10, 20));
      assert.match(lane.answers.get('an unsatisfiable range')!.head[0]!, / 416 /);
      assert.ok(lane.answers.get('gzip accepted')!.head.includes('content-encoding: gzip'));
      assert.ok(lane.answers.get('gzip in a second field')!.head.includes('content-encoding: gzip'));
      assert.equal(lane.answers.get('HEAD')!.body, '');
      assert.ok(lane.answers.get('HEAD')!.head.includes(`content-length: ${TEXT.length}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
