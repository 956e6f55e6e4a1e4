/**
 * The static memory cache is keyed by the file, not by the request path, and bounded: many
 * spellings of one file make one entry, and many files evict the least recently used ones
 * instead of growing the heap for good or crowding the next file out.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StaticFiles, type StaticOptions } from '../../src/server/static/static-files.ts';

let root: string;
const SIZE = 4096;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'strata-static-cache-'));
  mkdirSync(join(root, 'dir'));
  writeFileSync(join(root, 'a.txt'), 'a'.repeat(SIZE));
  writeFileSync(join(root, 'b.txt'), 'b'.repeat(SIZE));
  writeFileSync(join(root, 'dir', 'index.html'), 'i'.repeat(SIZE));
  for (let i = 0; i < 40; i++) writeFileSync(join(root, `f${i}.txt`), String(i).padEnd(SIZE, '.'));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** A node server in front of one StaticFiles, and a keep-alive client that sends paths as is. */
async function withFiles(
  options: Omit<StaticOptions, 'root'>,
  run: (
    files: StaticFiles,
    fetchPath: (path: string) => Promise<{ status: number; body: string }>,
  ) => Promise<void>,
): Promise<void> {
  const files = new StaticFiles({ root, ...options });
  const server: Server = createServer((req, res) =>
    files.handle(req, res, () => {
      res.writeHead(404).end('app');
    }),
  );
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const port = (server.address() as AddressInfo).port;
  const fetchPath = (path: string) =>
    new Promise<{ status: number; body: string }>((ok, fail) => {
      get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
      }).on('error', fail);
    });
  try {
    await run(files, fetchPath);
  } finally {
    agent.destroy();
    await new Promise((ok) => server.close(ok));
  }
}

/** `count` distinct spellings of `/a.txt` that all resolve to the file. */
function spellings(count: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const dots = '/.'.repeat(i % 50);
    const slashes = '/'.repeat(1 + (Math.floor(i / 50) % 20));
    const name = ['a.txt', 'a%2etxt', '%61.txt', 'a%2Etxt'][Math.floor(i / 1000) % 4];
    out.push(`${dots}${slashes}${name}`);
  }
  return [...new Set(out)].slice(0, count);
}

describe('the static memory cache', () => {
  test('1,000 spellings of one file are one entry of its size', async () => {
    await withFiles({}, async (files, fetchPath) => {
      const paths = spellings(1000);
      assert.equal(paths.length, 1000);
      for (let i = 0; i < paths.length; i += 50) {
        const answers = await Promise.all(paths.slice(i, i + 50).map(fetchPath));
        for (const a of answers) assert.equal(a.status, 200);
      }
      const stats = files.cacheStats;
      assert.equal(stats.entries, 1);
      assert.equal(stats.bytes, SIZE);
      assert.ok(stats.paths <= 4, `${stats.paths} request paths remembered`);
      assert.equal((await fetchPath('/a.txt')).body, 'a'.repeat(SIZE));
    });
  });

  test('spellings of one file do not crowd the next file out of memory', async () => {
    await withFiles({ memoryCacheMaxBytes: 16 * SIZE }, async (files, fetchPath) => {
      for (const path of spellings(100)) await fetchPath(path);
      assert.equal((await fetchPath('/b.txt')).status, 200);
      assert.deepEqual({ ...files.cacheStats, paths: 0 }, { entries: 2, bytes: 2 * SIZE, paths: 0 });
    });
  });

  test('entries are bounded: the least recently used file goes first', async () => {
    await withFiles({ memoryCacheMaxEntries: 10 }, async (files, fetchPath) => {
      for (let i = 0; i < 40; i++) {
        assert.equal((await fetchPath(`/f${i}.txt`)).status, 200);
        await fetchPath('/a.txt'); // kept recent: never evicted
        assert.ok(files.cacheStats.entries <= 10);
      }
      assert.equal(files.cacheStats.entries, 10);
      assert.equal(files.cacheStats.bytes, 10 * SIZE);
      assert.ok(files.cacheStats.paths <= 10);
      // a.txt was used after every other file: still cached, so the stats do not move.
      const before = files.cacheStats;
      assert.equal((await fetchPath('/a.txt')).body, 'a'.repeat(SIZE));
      assert.deepEqual(files.cacheStats, before);
    });
  });

  test('bytes are bounded: bodies beyond memoryCacheMaxBytes evict older ones', async () => {
    await withFiles({ memoryCacheMaxBytes: 5 * SIZE }, async (files, fetchPath) => {
      for (let i = 0; i < 40; i++) {
        const res = await fetchPath(`/f${i}.txt`);
        assert.equal(res.body, String(i).padEnd(SIZE, '.'));
        assert.ok(files.cacheStats.bytes <= 5 * SIZE, `${files.cacheStats.bytes} bytes held`);
      }
      assert.equal(files.cacheStats.bytes, 5 * SIZE);
    });
  });

  test('a directory and its index are one entry; memoryCacheMaxEntries: 0 keeps nothing', async () => {
    await withFiles({}, async (files, fetchPath) => {
      for (const path of ['/dir/', '//dir/', '/dir/.', '/dir/index.html', '/./dir/index.html'])
        assert.equal((await fetchPath(path)).body, 'i'.repeat(SIZE));
      assert.equal(files.cacheStats.entries, 1);
    });
    await withFiles({ memoryCacheMaxEntries: 0 }, async (files, fetchPath) => {
      assert.equal((await fetchPath('/a.txt')).body, 'a'.repeat(SIZE));
      assert.deepEqual(files.cacheStats, { entries: 0, bytes: 0, paths: 0 });
    });
  });

  test('the cache options are checked', () => {
    for (const bad of [-1, 1.5, Number.NaN])
      assert.throws(() => new StaticFiles({ root, memoryCacheMaxEntries: bad }), /memoryCacheMaxEntries/);
  });
});
