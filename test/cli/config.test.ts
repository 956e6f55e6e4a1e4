import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { findConfigFile, type LoadedConfig, loadConfigFile } from '../../src/cli/config-file.ts';
import { parseServeFlags, type ServeFlags, serveOptionsOf, workerArgs } from '../../src/cli/serve-command.ts';
import { CLI, ROOT, runCli, startCli, stopCli } from '../fixtures/cli.ts';
import { getRaw } from '../fixtures/http.ts';
import { freePort } from '../fixtures/ports.ts';
import { killAll, type LogEntry, type Primary, spawnPrimary } from '../fixtures/supervisor.ts';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'config');
const SERVE_CONFIG = join(FIXTURES, 'serve.config.ts');
const WORKERS_CONFIG = join(FIXTURES, 'workers.config.ts');
const INVALID_CONFIG = join(FIXTURES, 'invalid.config.ts');
const APP = join(FIXTURES, 'app.ts');

const dir = mkdtempSync(join(tmpdir(), 'strata-config-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  killAll();
});

/** A directory of its own holding these files. */
function project(files: Record<string, string>): string {
  const at = mkdtempSync(join(dir, 'p-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(at, name), text);
  return at;
}

function flags(args: string[], config?: LoadedConfig, env: NodeJS.ProcessEnv = {}): ServeFlags {
  const f = parseServeFlags(args, env, config);
  assert.ok(f !== 'help');
  return f;
}

/** A loaded config as the loader would hand it over (already checked). */
const loaded = (values: LoadedConfig['values']): LoadedConfig => ({ path: '/srv/strata.config.ts', values });

function assertCode(code: string, fn: () => unknown | Promise<unknown>) {
  return assert.rejects(
    async () => fn(),
    (err: Error & { code: string; exitCode: number }) => {
      assert.equal(err.code, code, err.message);
      assert.equal(err.exitCode, 2);
      return true;
    },
  );
}

describe('finding and loading the file', () => {
  test('strata.config.* in the current directory, --config over it, none is fine', () => {
    const at = project({ 'strata.config.mjs': 'export default {};' });
    assert.equal(findConfigFile(undefined, at), join(at, 'strata.config.mjs'));
    assert.equal(findConfigFile(SERVE_CONFIG, at), SERVE_CONFIG);
    assert.equal(findConfigFile('serve.config.ts', FIXTURES), SERVE_CONFIG, 'relative to the cwd');
    assert.equal(findConfigFile(undefined, project({})), undefined);
  });

  test('two candidates, a missing --config, a wrong extension: exit 2 with a code', async () => {
    const two = project({ 'strata.config.ts': 'export default {};', 'strata.config.json': '{}' });
    await assertCode('STRATA_ERR_CONFIG_AMBIGUOUS', () => findConfigFile(undefined, two));
    await assertCode('STRATA_ERR_CONFIG_NOT_FOUND', () => findConfigFile('nope.ts', dir));
    await assertCode('STRATA_ERR_CONFIG_NOT_FOUND', () => findConfigFile(dir, dir));
    const yaml = project({ 'strata.yaml': 'port: 1' });
    await assertCode('STRATA_ERR_CONFIG_NOT_FOUND', () => findConfigFile(join(yaml, 'strata.yaml'), dir));
  });

  const loadCases: [string, string, string, RegExp][] = [
    ['not JSON', 'c.json', '{ port: 1 }', /^Could not load .*c\.json: .*JSON/],
    ['no default export', 'c.mjs', 'export const port = 1;', /has no default export/],
    ['throws while loading', 'c.mjs', 'throw new Error("boom");', /Could not load .*: boom/],
    ['a syntax error', 'c.ts', 'export default {', /Could not load/],
    [
      'a getter that throws',
      'c.mjs',
      'export default { get port() { throw new Error("no") } };',
      /Could not read .*: no/,
    ],
    [
      'a Proxy whose traps throw',
      'c.mjs',
      'export default new Proxy({}, { getPrototypeOf() { throw new Error("trap"); } });',
      /Could not read .*: trap/,
    ],
  ];
  for (const [name, file, text, message] of loadCases) {
    test(`a file that cannot load: ${name}`, async () => {
      const at = project({ [file]: text });
      await assert.rejects(
        loadConfigFile(join(at, file)),
        (err: Error & { code: string; exitCode: number }) => {
          assert.equal(err.code, 'STRATA_ERR_CONFIG_LOAD');
          assert.equal(err.exitCode, 2);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  test('a JSON file over 1 MiB is refused unread', async () => {
    const at = project({ 'big.json': `{"host": "${'a'.repeat(1_100_000)}"}` });
    await assertCode('STRATA_ERR_CONFIG_LOAD', () => loadConfigFile(join(at, 'big.json')));
  });

  test('a JSON file: __proto__ is refused; paths are relative to the file', async () => {
    const at = project({
      'bad.json': '{"__proto__": {"polluted": 1}, "port": 1}',
      'good.json': '{"app": "app.ts", "static": {"root": "public", "spaFallback": "index.html"}}',
    });
    await assertCode('STRATA_ERR_CONFIG_INVALID', () => loadConfigFile(join(at, 'bad.json')));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const good = await loadConfigFile(join(at, 'good.json'));
    assert.equal(good.values.app, join(at, 'app.ts'));
    assert.deepEqual(good.values.static, { root: join(at, 'public'), spaFallback: 'index.html' });
  });

  test('the fixture files load (a .ts file importing defineConfig and another config)', async () => {
    const config = await loadConfigFile(WORKERS_CONFIG);
    assert.equal(config.path, WORKERS_CONFIG);
    assert.equal(config.values.app, APP);
    assert.deepEqual(config.values.workers, { count: 2, mode: 'cluster', gracefulTimeout: 5 });
    await assertCode('STRATA_ERR_CONFIG_UNKNOWN_KEY', () => loadConfigFile(INVALID_CONFIG));
  });
});

test('--help answers without reading a config file', async () => {
  const at = project({ 'strata.config.mjs': 'throw new Error("read");' });
  const child = spawn(process.execPath, [CLI, 'serve', '--help'], { cwd: at });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 0);
  assert.match(out, /--config <file>/);
});

describe('precedence: flag, then file, then default', () => {
  test('port: --port, then $PORT, then the file, then 3000', () => {
    const file = loaded({ app: '/srv/app.ts', port: 8080 });
    assert.equal(flags([], file).port, 8080);
    assert.equal(flags([], file, { PORT: '9000' }).port, 9000);
    assert.equal(flags(['--port', '7000'], file, { PORT: '9000' }).port, 7000);
    assert.equal(flags(['app.ts']).port, 3000);
  });

  test('the module: the positional, else the file’s app; neither is a usage error', () => {
    const file = loaded({ app: '/srv/app.ts' });
    assert.equal(flags([], file).module, '/srv/app.ts');
    assert.equal(flags(['other.ts'], file).module, 'other.ts');
    assert.throws(
      () => parseServeFlags([], {}, loaded({})),
      /needs a module .*or `app` in strata\.config\.ts/,
    );
  });

  test('host, dev, redis, trustProxy, admin', () => {
    const file = loaded({
      app: '/a.ts',
      host: '0.0.0.0',
      dev: true,
      redis: 'redis://file:6379',
      trustProxy: ['private'],
      admin: { port: 9200 },
    });
    const fromFile = flags([], file);
    assert.equal(fromFile.host, '0.0.0.0');
    assert.equal(fromFile.dev, true);
    assert.equal(fromFile.redis, 'redis://file:6379');
    assert.deepEqual(fromFile.trustProxy, ['private']);
    assert.deepEqual(fromFile.admin, { host: '127.0.0.1', port: 9200 });
    const overridden = flags(
      ['--host', '127.0.0.2', '--redis', 'redis://flag:6379', '--trust-proxy', 'loopback', '--admin', '9300'],
      file,
    );
    assert.equal(overridden.host, '127.0.0.2');
    assert.equal(overridden.redis, 'redis://flag:6379');
    assert.deepEqual(overridden.trustProxy, ['loopback']);
    assert.deepEqual(overridden.admin, { host: '127.0.0.1', port: 9300 });
    assert.deepEqual(flags([], loaded({ app: '/a.ts', metrics: true })).admin, {
      host: '127.0.0.1',
      port: 9100,
    });
    assert.equal(flags([], loaded({ app: '/a.ts', admin: false })).admin, undefined);
  });

  test('--static DIR replaces static.root and keeps the file’s other static options', () => {
    const file = loaded({
      app: '/a.ts',
      static: { root: '/srv/public', spaFallback: 'index.html', maxAge: 60 },
    });
    assert.deepEqual(flags([], file).static, { root: '/srv/public', spaFallback: 'index.html', maxAge: 60 });
    assert.deepEqual(flags(['--static', 'dist'], file).static, {
      root: 'dist',
      spaFallback: 'index.html',
      maxAge: 60,
    });
    assert.equal(flags(['--static', 'dist'], loaded({ app: '/a.ts', static: '/srv/public' })).static, 'dist');
  });

  test('--compress turns compression on with the file’s options; the access log merges field by field', () => {
    const file = loaded({
      app: '/a.ts',
      compression: { threshold: 10 },
      accessLog: { format: 'json', bufferSize: 0, destination: '/var/log/a.log' },
    });
    assert.deepEqual(flags(['--compress'], file).compress, { threshold: 10 });
    assert.deepEqual(flags([], file).compress, { threshold: 10 });
    assert.equal(flags(['--compress'], loaded({ app: '/a.ts' })).compress, true);
    assert.equal(flags([], loaded({ app: '/a.ts', compression: false })).compress, false);
    assert.deepEqual(flags(['--access-log-file', '/tmp/x.log'], file).accessLog, {
      format: 'json',
      bufferSize: 0,
      destination: '/tmp/x.log',
    });
    assert.deepEqual(
      flags(['--access-log', 'combined'], loaded({ app: '/a.ts', accessLog: true })).accessLog,
      {
        format: 'combined',
        destination: 'stdout',
      },
    );
    assert.equal(flags([], loaded({ app: '/a.ts', accessLog: false })).accessLog, undefined);
  });

  test('workers: the flags over the file’s count, mode and settings', () => {
    const file = loaded({
      app: '/a.ts',
      workers: { count: 2, mode: 'cluster', maxRequests: 100, restartDelay: 50 },
    });
    const fromFile = flags([], file).parallel;
    assert.deepEqual(fromFile, {
      workers: 2,
      mode: 'cluster',
      settings: { maxRequests: 100, restartDelay: 50 },
    });
    const overridden = flags(
      ['--workers', '4', '--worker-mode', 'reusePort', '--max-requests', '7'],
      file,
    ).parallel;
    assert.deepEqual(overridden, {
      workers: 4,
      mode: 'reusePort',
      settings: { maxRequests: 7, restartDelay: 50 },
    });
    assert.equal(flags([], loaded({ app: '/a.ts', workers: 'auto' })).parallel.workers, 'auto');
    // Settings without a count wait for --workers; the flags alone still need it.
    assert.equal(
      flags([], loaded({ app: '/a.ts', workers: { maxRequests: 5 } })).parallel.workers,
      undefined,
    );
    assert.throws(
      () => parseServeFlags(['--max-requests', '5'], {}, loaded({ app: '/a.ts' })),
      /add --workers/,
    );
    assert.doesNotThrow(() => parseServeFlags(['--max-requests', '5'], {}, file));
  });

  test('serveOptionsOf: the file’s limits reach serve(), with the flags’ values over them', () => {
    const file = loaded({
      app: '/a.ts',
      port: 8080,
      maxBodySize: 16,
      allowedHosts: ['example.com'],
      websocket: { maxPayload: 1024 },
      loadShedding: { maxHeapUsedBytes: 1e9, maxEventLoopDelay: 500 },
      headersTimeout: 1000,
    });
    const options = serveOptionsOf(flags(['--max-event-loop-delay', '200', '--port', '0'], file));
    assert.equal(options.port, 0);
    assert.equal(options.maxBodySize, 16);
    assert.deepEqual(options.allowedHosts, ['example.com']);
    assert.deepEqual(options.websocket, { maxPayload: 1024 });
    assert.equal(options.headersTimeout, 1000);
    assert.deepEqual(options.loadShedding, { maxHeapUsedBytes: 1e9, maxEventLoopDelay: 200 });
    assert.equal(options.compression, false);
    for (const key of ['app', 'redis', 'workers', 'admin', 'metrics'])
      assert.ok(!(key in options), `${key} is the CLI's, not serve()'s`);
  });

  test('workers get the config file by its absolute path, whatever the primary was given', () => {
    assert.deepEqual(workerArgs(['app.ts', '--port', '0'], undefined), ['app.ts', '--port', '0']);
    assert.deepEqual(workerArgs(['--config', 'c.ts', '--port', '0'], '/abs/c.ts'), [
      '--config',
      '/abs/c.ts',
      '--port',
      '0',
    ]);
    assert.deepEqual(workerArgs(['--config=c.ts', 'app.ts'], '/abs/c.ts'), [
      '--config',
      '/abs/c.ts',
      'app.ts',
    ]);
    assert.deepEqual(workerArgs(['--workers', '2'], '/abs/strata.config.ts'), [
      '--config',
      '/abs/strata.config.ts',
      '--workers',
      '2',
    ]);
  });
});

/** Waits for the supervisor's "serving" line (or its exit). */
function servingLine(primary: Primary): Promise<LogEntry> {
  return Promise.race([
    primary.waitForLine((l) => l.msg === 'supervisor: serving', 20_000, 'the supervisor to serve'),
    primary.exited.then((e): never => {
      throw new Error(`the primary exited (${e.code}): ${primary.stderr()}`);
    }),
  ]);
}

/** POSTs `size` bytes; the status. */
async function post(url: string, size: number): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { method: 'POST', body: 'x'.repeat(size), headers: { connection: 'close' } });
  return { status: res.status, body: await res.text() };
}

describe('strata serve with a config file', () => {
  test('one process: maxBodySize (413), allowedHosts (421), static spaFallback, the app from the file', async () => {
    const { child, url } = await startCli(['--config', SERVE_CONFIG]);
    try {
      assert.deepEqual(await post(url, 8), { status: 200, body: 'read 8' });
      assert.equal((await post(url, 64)).status, 413);
      assert.equal((await getRaw(url, { host: 'evil.example' })).status, 421);
      assert.equal((await getRaw(url, { host: 'localhost' })).status, 200);
      assert.equal(await (await fetch(`${url}/assets/file.txt`)).text(), 'a file\n');
      const spa = await fetch(`${url}/assets/some/client/route`, { headers: { accept: 'text/html' } });
      assert.equal(spa.status, 200);
      assert.match(await spa.text(), /spa shell/);
      assert.match(await (await fetch(`${url}/other`)).text(), /^pid \d+$/, 'outside the prefix: the app');
    } finally {
      assert.equal(await stopCli(child), 0);
    }
  });

  test('strata.config.json found in the current directory, with a flag over it', async () => {
    const at = project({
      'strata.config.json': JSON.stringify({ app: APP, maxBodySize: 4, port: 1 }),
    });
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { cwd: at });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no listening line')), 15_000);
        child.stdout.on('data', () => {
          const m = /"url":"(http:\/\/[^"]+)","msg":"listening"/.exec(out);
          if (m !== null) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      assert.notEqual(new URL(url).port, '1', '--port 0 over the file’s port');
      assert.equal((await post(url, 8)).status, 413);
    } finally {
      assert.equal(await stopCli(child), 0);
    }
  });

  test('a config that fails validation exits 2 before listening: the port stays free', async () => {
    const port = await freePort();
    const { code, stderr } = await runCli(['serve', '--config', INVALID_CONFIG, '--port', String(port)]);
    assert.equal(code, 2);
    assert.match(stderr, /invalid\.config\.ts has 3 errors; nothing was started/);
    assert.match(stderr, /maxBodySise: unknown key in the config; did you mean "maxBodySize"\?/);
    assert.match(stderr, /maxInFlight: must be a non-negative integer, got "100" \(a string/);
    assert.match(stderr, /workers\.maxRequests: must be a non-negative integer, got -1/);
    assert.match(stderr, /\[STRATA_ERR_CONFIG_UNKNOWN_KEY\]\n$/);
    await new Promise<void>((resolve, reject) => {
      const probe = createServer().once('error', reject);
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
    });
  });

  test('a bad JSON config under --workers: the supervisor starts no worker', async () => {
    const at = project({
      'c.json': JSON.stringify({ app: APP, static: { root: '.', spaFallback: '../../etc/passwd' } }),
    });
    mkdirSync(join(at, 'public'));
    const primary = spawnPrimary(['--config', join(at, 'c.json'), '--workers', '2', '--port', '0']);
    const exit = await primary.exited;
    assert.equal(exit.code, 2);
    assert.match(primary.stderr(), /static\.spaFallback: must be relative to static\.root/);
    assert.ok(!primary.lines.some((l) => l.msg === 'supervisor: worker started'), 'no worker was started');
  });

  test('--workers 2: every worker serves with the file’s options', async () => {
    const primary = spawnPrimary([
      '--config',
      SERVE_CONFIG,
      '--workers',
      '2',
      '--worker-mode',
      'cluster',
      '--port',
      '0',
    ]);
    try {
      const serving = await servingLine(primary);
      const url = serving.url as string;
      assert.equal(serving.workers, 2);
      // cluster mode hands connections out in turn: eight fresh connections reach both workers.
      for (let i = 0; i < 8; i++) assert.equal((await post(url, 64)).status, 413);
      await primary.waitForLine(
        () =>
          new Set(primary.lines.filter((l) => l.msg === 'request body over maxBodySize').map((l) => l.pid))
            .size === 2,
        5000,
        '413s from both workers',
      );
      for (let i = 0; i < 4; i++) assert.equal((await getRaw(url, { host: 'evil.example' })).status, 421);
      assert.match(
        await (
          await fetch(`${url}/assets/deep/link`, { headers: { connection: 'close', accept: 'text/html' } })
        ).text(),
        /spa shell/,
      );
    } finally {
      primary.signal('SIGTERM');
      const exit = await primary.exited;
      assert.equal(exit.code, 0);
    }
  });

  test('workers: { count: 2 } in the file starts the supervisor without --workers', async () => {
    const primary = spawnPrimary(['--config', WORKERS_CONFIG, '--port', '0']);
    try {
      const serving = await servingLine(primary);
      assert.equal(serving.workers, 2);
      assert.equal(serving.mode, 'cluster');
      assert.equal((await post(serving.url as string, 64)).status, 413);
    } finally {
      primary.signal('SIGTERM');
      assert.equal((await primary.exited).code, 0);
    }
  });
});
