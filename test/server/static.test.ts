import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { type StrataServer, serve } from '../../src/server.ts';
import { rawRequest } from '../fixtures/http.ts';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-ROOT-91c2';
let base: string;
let root: string;
let server: StrataServer;
const big = randomBytes(2 * 1024 * 1024 + 3);
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';

function setup(): void {
  base = mkdtempSync(join(tmpdir(), 'strata-static-'));
  root = join(base, 'public');
  mkdirSync(join(root, 'docs'), { recursive: true });
  mkdirSync(join(root, 'assets'), { recursive: true });
  mkdirSync(join(root, '.git'), { recursive: true });
  writeFileSync(join(base, 'secret.txt'), SECRET);
  writeFileSync(join(base, 'public-secret.txt'), SECRET); // a sibling whose name starts like the root
  writeFileSync(join(root, 'index.html'), '<h1>home</h1>');
  writeFileSync(join(root, 'docs', 'index.html'), '<h1>docs</h1>');
  writeFileSync(join(root, 'alphabet.txt'), ALPHABET);
  writeFileSync(join(root, 'big.bin'), big);
  writeFileSync(join(root, '.env'), SECRET);
  writeFileSync(join(root, '.git', 'config'), SECRET);
  writeFileSync(join(root, 'assets', 'app.3f2a1b9c.js'), 'console.log(1)');
  const css = 'body { color: red; }'.repeat(50);
  writeFileSync(join(root, 'style.css'), css);
  writeFileSync(join(root, 'style.css.br'), brotliCompressSync(css));
  writeFileSync(join(root, 'style.css.gz'), gzipSync(css));
  symlinkSync(join(base, 'secret.txt'), join(root, 'escape.txt'));
  symlinkSync(join(root, 'alphabet.txt'), join(root, 'inside-link.txt'));
  writeFileSync(join(root, 'changing.txt'), 'version 1');
}

function bodyOf(raw: string): string {
  return raw.slice(raw.indexOf('\r\n\r\n') + 4);
}

const get = (path: string, headers: Record<string, string> = {}) =>
  rawRequest(
    server.port,
    `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`,
  );

describe('static files', () => {
  before(async () => {
    setup();
    server = await serve(
      (request: Request) => new Response(`app saw ${new URL(request.url).pathname}`, { status: 404 }),
      {
        port: 0,
        logger: false,
        static: { root, revalidateMs: 50 },
      },
    );
  });
  after(async () => {
    await server.close();
    rmSync(base, { recursive: true, force: true });
  });

  test('a file with type, length, validators and cache policy', async () => {
    const res = await fetch(`${server.url}/alphabet.txt`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), ALPHABET);
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(res.headers.get('content-length'), '26');
    assert.match(res.headers.get('etag')!, /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.ok(res.headers.get('last-modified'));
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.equal(res.headers.get('cache-control'), 'public, max-age=0');
  });

  test('hashed asset names are immutable for a year', async () => {
    const res = await fetch(`${server.url}/assets/app.3f2a1b9c.js`);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
  });

  test('conditional requests: 304 and 412', async () => {
    const first = await fetch(`${server.url}/alphabet.txt`);
    const etag = first.headers.get('etag')!;
    const lastModified = first.headers.get('last-modified')!;
    assert.equal(
      (await fetch(`${server.url}/alphabet.txt`, { headers: { 'if-none-match': etag } })).status,
      304,
    );
    assert.equal(
      (await fetch(`${server.url}/alphabet.txt`, { headers: { 'if-none-match': `W/${etag}` } })).status,
      304,
    );
    assert.equal(
      (await fetch(`${server.url}/alphabet.txt`, { headers: { 'if-modified-since': lastModified } })).status,
      304,
    );
    assert.equal(
      (await fetch(`${server.url}/alphabet.txt`, { headers: { 'if-none-match': '"other"' } })).status,
      200,
    );
    assert.equal(
      (await fetch(`${server.url}/alphabet.txt`, { headers: { 'if-match': '"other"' } })).status,
      412,
    );
    assert.equal((await fetch(`${server.url}/alphabet.txt`, { headers: { 'if-match': etag } })).status, 200);
    const past = new Date(Date.parse(lastModified) - 60_000).toUTCString();
    assert.equal(
      (await fetch(`${server.url}/alphabet.txt`, { headers: { 'if-unmodified-since': past } })).status,
      412,
    );
    const future = new Date(Date.now() + 86_400_000).toUTCString();
    assert.equal(
      (await fetch(`${server.url}/alphabet.txt`, { headers: { 'if-modified-since': future } })).status,
      200,
      'RFC 9110 §13.1.3: a future date is invalid',
    );
  });

  test('HEAD has the headers and no body', async () => {
    const res = await rawRequest(
      server.port,
      'HEAD /alphabet.txt HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
    );
    assert.equal(res.status, 200);
    assert.match(res.text, /content-length: 26/i);
    assert.equal(bodyOf(res.text), '');
  });

  const ranges: [string, number, string, string | undefined][] = [
    ['bytes=0-4', 206, 'abcde', 'bytes 0-4/26'],
    ['bytes=20-', 206, 'uvwxyz', 'bytes 20-25/26'],
    ['bytes=-3', 206, 'xyz', 'bytes 23-25/26'],
    ['bytes=24-100', 206, 'yz', 'bytes 24-25/26'],
    ['bytes=30-40', 416, '', 'bytes */26'],
    ['bytes=26-', 416, '', 'bytes */26'], // §14.1.1: first-pos at or past the length
    ['bytes=5-2', 200, ALPHABET, undefined],
    ['lines=0-4', 200, ALPHABET, undefined],
    ['bytes=0-1,1-2', 200, ALPHABET, undefined],
  ];
  for (const [range, status, body, contentRange] of ranges) {
    test(`Range ${range} → ${status}`, async () => {
      const res = await fetch(`${server.url}/alphabet.txt`, { headers: { range } });
      assert.equal(res.status, status);
      assert.equal(await res.text(), body);
      assert.equal(res.headers.get('content-range') ?? undefined, contentRange);
    });
  }

  test('several ranges answer multipart/byteranges', async () => {
    const res = await fetch(`${server.url}/alphabet.txt`, { headers: { range: 'bytes=0-1,10-12' } });
    assert.equal(res.status, 206);
    const type = res.headers.get('content-type')!;
    assert.match(type, /^multipart\/byteranges; boundary=/);
    const body = await res.text();
    assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(body));
    assert.match(body, /Content-Range: bytes 0-1\/26\r\n\r\nab\r\n/);
    assert.match(body, /Content-Range: bytes 10-12\/26\r\n\r\nklm\r\n--/);
  });

  test('If-Range: ranges only while the validator matches', async () => {
    const etag = (await fetch(`${server.url}/alphabet.txt`)).headers.get('etag')!;
    assert.equal(
      (await fetch(`${server.url}/alphabet.txt`, { headers: { range: 'bytes=0-0', 'if-range': etag } }))
        .status,
      206,
    );
    assert.equal(
      (await fetch(`${server.url}/alphabet.txt`, { headers: { range: 'bytes=0-0', 'if-range': '"old"' } }))
        .status,
      200,
    );
  });

  test('a large file streams exactly, and ranges in it too', async () => {
    const res = await fetch(`${server.url}/big.bin`);
    const got = Buffer.from(await res.arrayBuffer());
    assert.equal(
      createHash('sha256').update(got).digest('hex'),
      createHash('sha256').update(big).digest('hex'),
    );
    const part = await fetch(`${server.url}/big.bin`, { headers: { range: 'bytes=1000000-1000009' } });
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), big.subarray(1_000_000, 1_000_010));
  });

  test('index files, and /dir redirected to /dir/ with the query kept', async () => {
    assert.equal(await (await fetch(`${server.url}/`)).text(), '<h1>home</h1>');
    assert.equal(await (await fetch(`${server.url}/docs/`)).text(), '<h1>docs</h1>');
    const res = await get('/docs?x=1');
    assert.equal(res.status, 301);
    assert.match(res.text, /location: \/docs\/\?x=1/i);
    const evil = await get('//evil.example/docs');
    assert.doesNotMatch(evil.text, /location: \/\/evil/i, 'no protocol-relative redirect');
  });

  // The path is the app's (`pathOf`): an absolute-form target or a fragment does not send a file's
  // request to the app, and a redirect keeps the query only (`searchOf`).
  const TARGETS: [target: string, status: number, body: string, location?: string][] = [
    ['http://h/alphabet.txt', 200, ALPHABET],
    ['http://h/alphabet.txt?x=1', 200, ALPHABET],
    ['/alphabet.txt#f', 200, ALPHABET],
    ['http://h/docs?x=1', 301, '', '/docs/?x=1'],
    ['/docs?x=1#f', 301, '', '/docs/?x=1'],
    ['http://h/missing.txt', 404, 'app saw /missing.txt'],
  ];
  for (const [target, status, body, location] of TARGETS) {
    test(`GET ${target} → ${status}`, async () => {
      const res = await get(target);
      assert.equal(res.status, status, res.text);
      assert.equal(bodyOf(res.text), body);
      assert.equal(/^location: (.*)$/im.exec(res.text)?.[1]?.trim(), location);
    });
  }

  test('precompressed siblings when accepted, with Vary', async () => {
    const br = await get('/style.css', { 'accept-encoding': 'gzip, br' });
    assert.match(br.text, /content-encoding: br/i);
    assert.match(br.text, /vary: Accept-Encoding/i);
    const gz = await get('/style.css', { 'accept-encoding': 'gzip' });
    assert.match(gz.text, /content-encoding: gzip/i);
    const none = await get('/style.css', { 'accept-encoding': 'identity' });
    assert.doesNotMatch(none.text, /content-encoding/i);
    assert.match(none.text, /vary: Accept-Encoding/i);
    const refused = await get('/style.css', { 'accept-encoding': 'br;q=0, gzip;q=0' });
    assert.doesNotMatch(refused.text, /content-encoding/i);
    const decoded = await fetch(`${server.url}/style.css`, { headers: { 'accept-encoding': 'br' } });
    assert.equal(await decoded.text(), 'body { color: red; }'.repeat(50));
  });

  test('a precompressed copy revalidates with its own ETag (304), not the identity one', async () => {
    const br = await get('/style.css', { 'accept-encoding': 'br' });
    const etag = /etag: (.*)\r\n/i.exec(br.text)![1]!;
    assert.match(etag, /-br"$/);
    const again = await get('/style.css', { 'accept-encoding': 'br', 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.match(again.text, /content-encoding: br/i);
    const other = await get('/style.css', { 'accept-encoding': 'gzip', 'if-none-match': etag });
    assert.equal(other.status, 200, 'the gzip copy is another representation');
    const identity = /etag: (.*)\r\n/i.exec((await get('/style.css')).text)![1]!;
    assert.equal((await get('/style.css', { 'if-none-match': identity })).status, 304);
  });

  test('a changed file is served fresh after revalidateMs', async () => {
    assert.equal(await (await fetch(`${server.url}/changing.txt`)).text(), 'version 1');
    writeFileSync(join(root, 'changing.txt'), 'version 22');
    const later = new Date(Date.now() + 5000);
    utimesSync(join(root, 'changing.txt'), later, later);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(await (await fetch(`${server.url}/changing.txt`)).text(), 'version 22');
  });

  test('what is not a file goes to the app: other methods, missing files, dotfiles', async () => {
    assert.equal(await (await fetch(`${server.url}/missing.txt`)).text(), 'app saw /missing.txt');
    assert.equal(
      await (await fetch(`${server.url}/alphabet.txt`, { method: 'POST', body: 'x' })).text(),
      'app saw /alphabet.txt',
    );
    const env = await get('/.env');
    assert.equal(env.status, 404);
    assert.doesNotMatch(env.text, new RegExp(SECRET));
  });

  test('symlinks that lead outside the root are not followed; inside ones are', async () => {
    const escaped = await get('/escape.txt');
    assert.doesNotMatch(escaped.text, new RegExp(SECRET));
    assert.equal(await (await fetch(`${server.url}/inside-link.txt`)).text(), ALPHABET);
  });

  const hostile = [
    '/../secret.txt',
    '/..%2fsecret.txt',
    '/%2e%2e/secret.txt',
    '/%2e%2e%2fsecret.txt',
    '/%252e%252e/secret.txt',
    '/..\\secret.txt',
    '/%5c..%5csecret.txt',
    '/docs/../../secret.txt',
    '/%c0%ae%c0%ae/secret.txt',
    '/%e0%80%ae%e0%80%ae/secret.txt',
    '/alphabet.txt%00.html',
    '/alphabet.txt\u0000',
    '/.%2e/secret.txt',
    '/..;/secret.txt',
    '/../public-secret.txt',
    '/.git/config',
    '/%2egit/config',
    '/docs/%2e%2e/%2e%2e/secret.txt',
  ];
  for (const path of hostile) {
    test(`never a byte from outside: ${JSON.stringify(path)}`, async () => {
      const res = await get(path);
      assert.doesNotMatch(res.text, new RegExp(SECRET));
      assert.ok([400, 403, 404].includes(res.status), `status ${res.status}`);
    });
  }

  test('fuzz: 3,000 generated paths never leak a byte from outside the root', async () => {
    const pieces = [
      '..',
      '.',
      '%2e',
      '%2E',
      '%252e',
      '%2f',
      '%5c',
      '\\',
      '/',
      '//',
      'docs',
      'secret.txt',
      '.env',
      '%00',
      '%c0%ae',
      '%e0%80%ae',
      'public-secret.txt',
      '..;',
      '%',
      '%zz',
      'alphabet.txt',
      '.git',
      'config',
      '~',
      '%2e%2e',
    ];
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const paths: string[] = [];
    for (let i = 0; i < 3000; i++) {
      let p = '/';
      const n = 1 + rand(7);
      for (let j = 0; j < n; j++) p += pieces[rand(pieces.length)] + (rand(2) ? '/' : '');
      paths.push(p);
    }
    for (let i = 0; i < paths.length; i += 50) {
      const batch = await Promise.all(paths.slice(i, i + 50).map((p) => get(p)));
      batch.forEach((res, k) => {
        assert.doesNotMatch(res.text, new RegExp(SECRET), paths[i + k]);
      });
    }
    assert.equal((await fetch(`${server.url}/alphabet.txt`)).status, 200, 'still serving');
  });
});
