/**
 * A path that names a file as a directory is not that file (nginx answers 404): `/a.txt/`,
 * `/a.txt/.`, `/a.txt%2f`. A directory without its slash is redirected, with it gets its index.
 * On both transports, for GET and HEAD.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type StrataServer, serve } from '../../src/server.ts';
import { rawRequest } from '../fixtures/http.ts';

let root: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'strata-static-paths-'));
  mkdirSync(join(root, 'dir', 'sub'), { recursive: true });
  writeFileSync(join(root, 'a.txt'), 'file a');
  writeFileSync(join(root, 'b.css'), 'b{}'.repeat(400));
  writeFileSync(join(root, 'b.css.gz'), gzipSync('b{}'.repeat(400)));
  writeFileSync(join(root, 'dir', 'index.html'), 'dir index');
  writeFileSync(join(root, 'dir', 'sub', 'c.txt'), 'file c');
});
after(() => rmSync(root, { recursive: true, force: true }));

// [path, status, body ('app' = handed on to the app, which answers 404), location]
const cases: [string, number, string, string?][] = [
  ['/a.txt', 200, 'file a'],
  ['/a.txt/', 404, 'app'],
  ['/a.txt/.', 404, 'app'],
  ['/a.txt/./', 404, 'app'],
  ['/a.txt//', 404, 'app'],
  ['/a.txt%2f', 404, 'app'],
  ['/a.txt%2F', 404, 'app'],
  ['/a.txt/?x=1', 404, 'app'],
  ['/b.css/', 404, 'app'],
  ['/dir/sub/c.txt/', 404, 'app'],
  ['/dir/sub/c.txt', 200, 'file c'],
  ['/dir', 301, '', '/dir/'],
  ['/dir?x=1', 301, '', '/dir/?x=1'],
  ['/dir/', 200, 'dir index'],
  ['/dir/.', 200, 'dir index'],
  ['/dir%2f', 200, 'dir index'],
  ['/dir/index.html/', 404, 'app'],
];

for (const fastLane of [true, false]) {
  describe(`a file named as a directory (fastLane: ${fastLane})`, () => {
    let server: StrataServer;
    before(async () => {
      server = await serve(() => new Response('app', { status: 404 }), {
        port: 0,
        logger: false,
        fastLane,
        static: root,
      });
    });
    after(() => server.close());

    for (const method of ['GET', 'HEAD']) {
      for (const [path, status, body, location] of cases) {
        test(`${method} ${path} → ${status}${location === undefined ? '' : ` ${location}`}`, async () => {
          const res = await rawRequest(
            server.port,
            `${method} ${path} HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n`,
          );
          assert.equal(res.status, status);
          const [head, rest] = [
            res.text.slice(0, res.text.indexOf('\r\n\r\n')),
            res.text.slice(res.text.indexOf('\r\n\r\n') + 4),
          ];
          if (method === 'GET') assert.equal(rest, body);
          else assert.equal(rest, '');
          if (location !== undefined)
            assert.match(head, new RegExp(`\\r\\nlocation: ${location.replace('?', '\\?')}\\r\\n`, 'i'));
        });
      }
    }

    test('HEAD of a file with a precompressed sibling gets the headers GET gets', async () => {
      const headers = async (method: string) => {
        const res = await rawRequest(
          server.port,
          `${method} /b.css HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n`,
        );
        return res.text
          .slice(0, res.text.indexOf('\r\n\r\n'))
          .split('\r\n')
          .slice(1)
          .filter((line) => !/^date:/i.test(line));
      };
      const get = await headers('GET');
      assert.ok(get.some((line) => /^content-encoding: gzip$/i.test(line)));
      assert.deepEqual(await headers('HEAD'), get);
    });
  });
}
