/**
 * Route errors surface where the route is written, not at the first request: every conflict
 * class and every refused pattern throws at `app.get()` / `app.route()` with its code and a
 * message naming both routes, across mounted sub-apps too, and leaves the app serving what it
 * had. `strata serve` on a module with such a route exits 1 with the code, without listening.
 * (Before, the app took every route and the first request threw, and every request after it:
 * the server listened and answered 500 to everything.)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { App } from '../../src/app/index.ts';
import { RouteError } from '../../src/app/router/index.ts';
import { CLI, ROOT } from '../fixtures/cli.ts';
import { freePort } from '../fixtures/ports.ts';

type Code = 'STRATA_ERR_ROUTE_CONFLICT' | 'STRATA_ERR_ROUTE_PATTERN_UNSAFE' | 'STRATA_ERR_ROUTE_INVALID';

const refusal =
  (code: Code, ...mentions: string[]) =>
  (err: unknown): boolean =>
    err instanceof RouteError && err.code === code && mentions.every((m) => err.message.includes(m));

const ok = () => new Response('ok');

// [what, the registrations, the one that must throw, its code, what the message names]
const CASES: [string, (app: App) => void, (app: App) => void, Code, string[]][] = [
  [
    'the same path twice',
    (a) => a.get('/a', ok),
    (a) => a.get('/a', ok),
    'STRATA_ERR_ROUTE_CONFLICT',
    ['GET /a'],
  ],
  [
    'two param names at one position',
    (a) => a.get('/a/:id', ok),
    (a) => a.get('/a/:name', ok),
    'STRATA_ERR_ROUTE_CONFLICT',
    ['GET /a/:name', 'GET /a/:id'],
  ],
  [
    'one pattern under two names',
    (a) => a.get('/n/:id{\\d+}', ok),
    (a) => a.get('/n/:num{\\d+}', ok),
    'STRATA_ERR_ROUTE_CONFLICT',
    ['GET /n/:num{\\d+}', 'GET /n/:id{\\d+}'],
  ],
  [
    'an optional param and the path without it',
    (a) => a.get('/p', ok),
    (a) => a.get('/p/:id?', ok),
    'STRATA_ERR_ROUTE_CONFLICT',
    ['GET /p/:id?', 'GET /p'],
  ],
  [
    'two wildcards',
    (a) => a.get('/f/*', ok),
    (a) => a.get('/f/*', ok),
    'STRATA_ERR_ROUTE_CONFLICT',
    ['GET /f/*'],
  ],
  [
    'all() over a method already taken',
    (a) => a.post('/x', ok),
    (a) => a.all('/x', ok),
    'STRATA_ERR_ROUTE_CONFLICT',
    ['POST /x'],
  ],
  [
    'a custom method twice',
    (a) => a.on('PURGE', '/cache/:key', ok),
    (a) => a.on('PURGE', '/cache/:k', ok),
    'STRATA_ERR_ROUTE_CONFLICT',
    ['PURGE /cache/:k', 'PURGE /cache/:key'],
  ],
  [
    'a sub-app mounted over a route',
    (a) => a.get('/admin/:id', ok),
    (a) => a.route('/admin', new App().get('/:name', ok)),
    'STRATA_ERR_ROUTE_CONFLICT',
    ['GET /admin/:name', 'GET /admin/:id', "app.route('/admin'"],
  ],
  [
    "a sub-app's root over the prefix itself",
    (a) => a.get('/admin', ok),
    (a) => a.route('/admin', new App().get('/', ok)),
    'STRATA_ERR_ROUTE_CONFLICT',
    ['GET /admin'],
  ],
  [
    'two sub-apps at one prefix',
    (a) => a.route('/v1', new App().get('/users/:id', ok)),
    (a) => a.route('/v1', new App().get('/users/:uid', ok)),
    'STRATA_ERR_ROUTE_CONFLICT',
    ['GET /v1/users/:uid', 'GET /v1/users/:id'],
  ],
  [
    'a sub-app under a sub-app',
    (a) => {
      a.get('/api/v1/ping', ok);
      a.route('/api', new App());
    },
    (a) => a.route('/api', new App().route('/v1', new App().get('/ping', ok))),
    'STRATA_ERR_ROUTE_CONFLICT',
    ['GET /api/v1/ping'],
  ],
  [
    'an unsafe pattern',
    () => {},
    (a) => a.get('/x/:p{(a)\\1}', ok),
    'STRATA_ERR_ROUTE_PATTERN_UNSAFE',
    ['/x/:p{(a)\\1}', 'backreference'],
  ],
  [
    'a pattern too large to compile',
    () => {},
    (a) => a.get('/x/:p{(a|b)*a(a|b){12}}', ok),
    'STRATA_ERR_ROUTE_PATTERN_UNSAFE',
    ['(a|b)*a(a|b){12}', '512 states'],
  ],
  [
    'an unsafe pattern in a mounted app',
    () => {},
    (a) => a.route('/m', new App().get('/:p{(?=a)a}', ok)),
    'STRATA_ERR_ROUTE_PATTERN_UNSAFE',
    ['lookaround'],
  ],
  ['an invalid path', () => {}, (a) => a.get('/a/:x/*/b', ok), 'STRATA_ERR_ROUTE_INVALID', ['/a/:x/*/b']],
];

describe('every route error throws at registration, with its code', () => {
  for (const [what, before, refused, code, mentions] of CASES) {
    test(what, async () => {
      const app = new App({ log: false });
      app.get('/health', ok);
      before(app);
      assert.throws(() => refused(app), refusal(code, ...mentions));
      // The app keeps serving what it had: no request answers 500 because of the refused route.
      await app.startup();
      const res = await app.request('/health');
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'ok');
    });
  }

  test("a sub-app's later route that conflicts with its parent's throws at once, naming the mount", () => {
    const app = new App();
    const admin = new App();
    app.get('/admin/users', ok);
    app.route('/admin', admin);
    assert.throws(
      () => admin.get('/users', ok),
      refusal('STRATA_ERR_ROUTE_CONFLICT', 'GET /admin/users', 'mounted at /admin'),
    );
    // Refused everywhere: the sub-app can still take a route that conflicts with nothing.
    admin.get('/stats', ok);
  });

  test('a refused mount leaves the app as it was', async () => {
    const app = new App({ log: false });
    app.get('/a/b', ok);
    const sub = new App().get('/c', ok).get('/b', ok);
    assert.throws(() => app.route('/a', sub), refusal('STRATA_ERR_ROUTE_CONFLICT'));
    assert.equal((await app.request('/a/c')).status, 404);
    // The routes the refused mount would have brought are free again.
    app.get('/a/c', ok);
    assert.equal((await app.request('/a/c')).status, 200);
  });

  test('an app cannot be mounted inside itself', () => {
    const app = new App();
    const sub = new App();
    app.route('/s', sub);
    assert.throws(() => sub.route('/loop', app), refusal('STRATA_ERR_ROUTE_INVALID', 'inside itself'));
    assert.throws(() => app.route('/self', app), refusal('STRATA_ERR_ROUTE_INVALID'));
  });
});

describe('strata serve on a module with a route error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-route-errors-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const appModule = pathToFileURL(join(ROOT, 'src', 'app', 'index.ts')).href;

  /** Runs `strata serve file --port port` until it exits, or 15 s; kills it if it listens. */
  function serveModule(
    file: string,
    port: number,
  ): Promise<{ code: number | null; stderr: string; stdout: string; listened: boolean }> {
    const child = spawn(
      process.execPath,
      [CLI, 'serve', file, '--port', String(port), '--host', '127.0.0.1'],
      {
        cwd: ROOT,
      },
    );
    let stdout = '';
    let stderr = '';
    let listened = false;
    child.stdout.on('data', (c) => {
      stdout += c;
      if (!listened && /"msg":"listening"/.test(stdout)) {
        listened = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    return new Promise((resolve) =>
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr, stdout, listened });
      }),
    );
  }

  /** Whether something accepts connections on 127.0.0.1:port. */
  function bound(port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  }

  const MODULES: [string, string, Code, string][] = [
    [
      'conflict.ts',
      `const app = new App();\napp.get('/a/:id', () => 'a');\napp.get('/a/:name', () => 'b');\nexport default app;\n`,
      'STRATA_ERR_ROUTE_CONFLICT',
      'GET /a/:name conflicts with GET /a/:id',
    ],
    [
      'mount-conflict.ts',
      `const app = new App();\napp.get('/admin/stats', () => 'a');\napp.route('/admin', new App().get('/stats', () => 'b'));\nexport default app;\n`,
      'STRATA_ERR_ROUTE_CONFLICT',
      "app.route('/admin'",
    ],
    [
      'unsafe-pattern.ts',
      `const app = new App();\napp.get('/x/:p{(?<=a)b}', () => 'a');\nexport default app;\n`,
      'STRATA_ERR_ROUTE_PATTERN_UNSAFE',
      '/x/:p{(?<=a)b}',
    ],
  ];
  for (const [name, body, code, message] of MODULES) {
    test(`${name}: exits 1 with ${code}, never listening`, async () => {
      const file = join(dir, name);
      writeFileSync(file, `import { App } from ${JSON.stringify(appModule)};\n${body}`);
      const port = await freePort();
      const run = await serveModule(file, port);
      assert.equal(run.listened, false, `it listened; stdout: ${run.stdout}`);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, new RegExp(`\\[${code}\\]`));
      assert.ok(run.stderr.includes(message), run.stderr);
      assert.ok(!/\n\s+at /.test(run.stderr), `a stack trace instead of the error: ${run.stderr}`);
      assert.equal(await bound(port), false);
    });
  }
});
