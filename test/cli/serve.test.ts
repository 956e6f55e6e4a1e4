import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { getRaw } from '../fixtures/http.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'src', 'cli', 'main.ts');
const APPS = join(ROOT, 'test', 'fixtures', 'apps');

interface Running {
  child: ChildProcess;
  url: string;
  stdout: () => string;
}

/** Starts `strata serve` and resolves once it logs the URL it listens on. */
function start(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args, '--port', '0'], { cwd: ROOT });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${err}`)), 10_000);
    child.stdout.on('data', () => {
      const match = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, stdout: () => out });
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code} before listening; stderr: ${err}`)));
  });
}

/** Runs the CLI to completion (for the error cases). */
function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

const servable = [
  { file: 'fetch-app.ts', path: '/hello', expect: '{"kind":"app","path":"/hello"}' },
  { file: 'fetch-function.ts', path: '/', expect: 'fetch function saw GET' },
];
for (const { file, path, expect } of servable) {
  test(`strata serve ${file} answers and exits 0 on SIGTERM`, async () => {
    const { child, url } = await start([join(APPS, file)]);
    const res = await fetch(url + path);
    assert.equal(await res.text(), expect);
    assert.equal(await stop(child), 0);
  });
}

test('an Express app passes straight through strata serve (the node-style path)', async () => {
  const { child, url } = await start([join(APPS, 'express-app.ts')]);
  try {
    const res = await fetch(`${url}/users/42`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-powered-by-test'), 'express');
    assert.deepEqual(await res.json(), { id: '42', via: 'express' });
    const posted = await fetch(`${url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: [1, 2] }),
    });
    assert.equal(posted.status, 201);
    assert.deepEqual(await posted.json(), { received: { a: [1, 2] } });
    // The server's limits still apply before Express sees the request.
    const big = await fetch(`${url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(2 * 1024 * 1024),
    }).catch((e: Error) => e);
    assert.ok(big instanceof Error || big.status === 413, 'oversized body refused before Express');
  } finally {
    assert.equal(await stop(child), 0);
  }
});

test('lifespan: startup before listening, shutdown after the drain', async () => {
  const { child, url, stdout } = await start([join(APPS, 'lifespan-app.ts')]);
  assert.equal(await (await fetch(url)).text(), 'alive');
  assert.equal(await stop(child), 0);
  const events = stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event?: string; msg?: string })
    .map((l) => l.event ?? l.msg);
  assert.deepEqual(events, ['startup', 'listening', 'stopping', 'shutdown']);
});

const failures = [
  {
    args: ['serve', 'test/fixtures/apps/missing.ts'],
    exit: 1,
    code: 'MODULE_NOT_FOUND',
    message: /"test\/fixtures\/apps\/missing\.ts"/,
  },
  {
    args: ['serve', 'test/fixtures/apps/bad-export.ts'],
    exit: 1,
    code: 'BAD_APP',
    message: /exports number/,
  },
  {
    args: ['serve', 'test/fixtures/apps/no-default.ts'],
    exit: 1,
    code: 'BAD_APP',
    message: /export default/,
  },
  {
    args: ['serve', 'test/fixtures/apps/throws-on-load.ts'],
    exit: 1,
    code: 'MODULE_LOAD',
    message: /boom while loading/,
  },
  { args: ['serve'], exit: 2, code: 'CLI_USAGE', message: /needs a module/ },
  {
    args: ['serve', 'a.ts', '--port', 'http'],
    exit: 2,
    code: 'CLI_USAGE',
    message: /--port must be an integer.*"http"/,
  },
  {
    args: ['serve', 'a.ts', '--port', '70000'],
    exit: 2,
    code: 'CLI_USAGE',
    message: /--port must be an integer/,
  },
  { args: ['serve', 'a.ts', '--bogus'], exit: 2, code: 'CLI_USAGE', message: /bogus/ },
  { args: ['launch'], exit: 2, code: 'CLI_USAGE', message: /Unknown command "launch"/ },
];
for (const { args, exit, code, message } of failures) {
  test(`strata ${args.join(' ')} fails with a clear message`, async () => {
    const result = await run(args);
    assert.equal(result.code, exit);
    assert.match(result.stderr, message);
    assert.match(result.stderr, new RegExp(`\\[STRATA_ERR_${code}\\]`));
    assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace for a user mistake');
  });
}

test('PORT is used when --port is absent, and a bad PORT is refused', async () => {
  const result = await run(['serve', join(APPS, 'fetch-app.ts')], { PORT: 'eighty' });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /PORT must be an integer/);
});

test('a port in use gives STRATA_ERR_PORT_IN_USE naming the port', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  try {
    const result = await run(['serve', join(APPS, 'fetch-app.ts'), '--port', String(port)]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /STRATA_ERR_PORT_IN_USE/);
    assert.match(result.stderr, new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is already in use`));
  } finally {
    blocker.close();
  }
});

test('--compress turns compression on with the defaults', async () => {
  const { gunzipSync } = await import('node:zlib');
  const path = `/${'a'.repeat(1100)}`;
  const getGzip = (url: string) => getRaw(url + path, { 'accept-encoding': 'gzip' });
  const expected = JSON.stringify({ kind: 'app', path });
  const on = await start([join(APPS, 'fetch-app.ts'), '--compress']);
  const off = await start([join(APPS, 'fetch-app.ts')]);
  try {
    const compressed = await getGzip(on.url);
    assert.equal(compressed.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(compressed.body).toString(), expected);
    const plain = await getGzip(off.url);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.toString(), expected);
  } finally {
    await Promise.all([stop(on.child), stop(off.child)]);
  }
});
