/**
 * serveStatic() (app middleware) against path traversal: every request below aims at a file
 * outside the root, a dotfile, or a symlink out of the root, and none may get a byte of it. Sent
 * over raw sockets to a plain node:http server, so the path reaches the middleware as the
 * attacker spelled it (a WHATWG URL would have normalised `..` away), and through app.request().
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createNodeHandler } from '../../src/gateway/index.ts';
import { App, serveStatic } from '../../src/index.ts';
import { fuzz } from '../fixtures/fuzz.ts';
import { rawRequest } from '../fixtures/http.ts';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-ROOT-6b1e';
let base: string;
let root: string;
let server: Server;
let port: number;
let app: App;

const ATTACKS = [
  '/../secret.txt',
  '/../../../../etc/passwd',
  '/%2e%2e/secret.txt',
  '/%2E%2E/secret.txt',
  '/.%2e/secret.txt',
  '/%2e%2e%2fsecret.txt',
  '/..%2fsecret.txt',
  '/..%2Fsecret.txt',
  '/docs/%2e%2e/%2e%2e/secret.txt',
  '/docs/../../secret.txt',
  '/%252e%252e/secret.txt',
  '/..\\secret.txt',
  '/..%5csecret.txt',
  '/%5c..%5csecret.txt',
  '/docs\\..\\..\\secret.txt',
  '/%c0%ae%c0%ae/secret.txt',
  '/%e0%80%ae%e0%80%ae/secret.txt',
  '/secret.txt%00.html',
  '/%00../secret.txt',
  '/../public-secret.txt',
  '//../secret.txt',
  '/escape.txt',
  '/escape-dir/secret.txt',
  '/.env',
  '/.git/config',
  '/%2eenv',
  '/%2egit/config',
  '/docs/.env',
];

function setup(): void {
  base = mkdtempSync(join(tmpdir(), 'strata-serve-static-sec-'));
  root = join(base, 'public');
  mkdirSync(join(root, 'docs'), { recursive: true });
  mkdirSync(join(root, '.git'));
  mkdirSync(join(base, 'outside'));
  writeFileSync(join(base, 'secret.txt'), SECRET);
  writeFileSync(join(base, 'public-secret.txt'), SECRET); // a sibling whose name starts like the root
  writeFileSync(join(base, 'outside', 'secret.txt'), SECRET);
  writeFileSync(join(root, 'ok.txt'), 'fine');
  writeFileSync(join(root, '.env'), SECRET);
  writeFileSync(join(root, 'docs', '.env'), SECRET);
  writeFileSync(join(root, '.git', 'config'), SECRET);
  symlinkSync(join(base, 'secret.txt'), join(root, 'escape.txt'));
  symlinkSync(join(base, 'outside'), join(root, 'escape-dir'));
  symlinkSync(join(root, 'ok.txt'), join(root, 'inside-link.txt'));
}

const get = (path: string) =>
  rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`, { timeoutMs: 2000 });

describe('serveStatic() never serves a byte from outside its root', () => {
  before(async () => {
    setup();
    app = new App();
    app.use(serveStatic({ root }));
    app.get('/*', (c) => c.text(`app saw ${new URL(c.req.url).pathname}`, 404));
    server = createServer(
      createNodeHandler(app, {
        maxBodySize: 1024,
        secure: false,
        defaultHost: 'localhost',
        onError: () => {},
        waitUntil: () => {},
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    rmSync(base, { recursive: true, force: true });
  });

  test('the control: a file inside the root, and a symlink that stays inside', async () => {
    const ok = await get('/ok.txt');
    assert.equal(ok.status, 200);
    assert.ok(ok.text.endsWith('fine'));
    const link = await get('/inside-link.txt');
    assert.equal(link.status, 200);
    assert.ok(link.text.endsWith('fine'));
  });

  for (const attack of ATTACKS) {
    test(`raw socket: ${JSON.stringify(attack)}`, async () => {
      const res = await get(attack);
      assert.ok(!res.text.includes(SECRET), `${attack} leaked the secret`);
      assert.ok(res.status === 400 || res.status === 404 || res.status === 0, `${attack}: ${res.status}`);
    });
    test(`app.request(): ${JSON.stringify(attack)}`, async () => {
      let res: Response;
      try {
        res = await app.request(`http://localhost${attack}`);
      } catch {
        return; // a URL the Request constructor refuses never reaches the app
      }
      const text = await res.text();
      assert.ok(!text.includes(SECRET), `${attack} leaked the secret`);
      assert.notEqual(res.status, 200, `${attack} answered 200`);
    });
  }

  test('the raw attacks the middleware judges itself are answered 400, not handed to the app', async () => {
    for (const attack of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%5csecret.txt',
      '/secret.txt%00.html',
    ]) {
      assert.equal((await get(attack)).status, 400, attack);
    }
  });

  test('symlinks: deny refuses even a link inside; follow is the explicit way out', async () => {
    const strict = new App().use(serveStatic({ root, symlinks: 'deny' }));
    assert.equal((await strict.request('/inside-link.txt')).status, 404);
    assert.equal((await strict.request('/ok.txt')).status, 200);
    const open = new App().use(serveStatic({ root, symlinks: 'follow' }));
    assert.equal(await (await open.request('/escape.txt')).text(), SECRET);
  });

  test('dotfiles: on only when asked', async () => {
    const withDots = new App().use(serveStatic({ root, dotfiles: true }));
    assert.equal(await (await withDots.request('/.env')).text(), SECRET);
  });

  test('fuzz: generated paths of dots, slashes, encodings and names never leak', async () => {
    const pieces = [
      '..',
      '.',
      '%2e',
      '%2E',
      '%2f',
      '%5c',
      '\\',
      '/',
      '%00',
      '%c0%ae',
      'secret.txt',
      'docs',
      'public',
      '.env',
      'escape-dir',
      '%252e',
      '//',
    ];
    const count = await fuzz({ seed: 0x5eed17b, iterations: 400, budgetMs: 1500 }, async (rng) => {
      let path = '/';
      const n = rng.int(1, 8);
      for (let i = 0; i < n; i++) path += rng.pick(pieces) + (rng.chance(0.5) ? '/' : '');
      const res = await get(path);
      assert.ok(!res.text.includes(SECRET), `${path} leaked the secret`);
    });
    assert.ok(count > 20, `only ${count} cases ran`);
  });
});
