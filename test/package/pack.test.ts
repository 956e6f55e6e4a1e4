/**
 * The package as a user installs it: `npm pack`, `npm install` of the tarball into an app of its
 * own, then the app imports it, serves a route, runs the installed `strata` bin, and type-checks
 * against the shipped declarations. Also the path (symlink) install of a checkout, where src/
 * sits beside dist/: the CLI and the app must load one copy of strata, not one each.
 *
 * Slow for a test file (npm pack, npm install, several Node processes: about 20-60 s, bounded at
 * 4 minutes); it installs only the tarball and its dependencies, from npm's cache when it can.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  childEnv,
  NPM_INSTALL_FLAGS,
  type Packed,
  packStrata,
  ROOT,
  runOk,
  startServer,
  stopServer,
} from '../fixtures/pack.ts';

const TIMEOUT = 240_000;

let packed: Packed;
let app: string; // an app with the tarball installed
const temps: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

// Logs every module the process loads (a module hook preloaded with --import), so that the app
// can tell which strata files the process holds: the CLI's and its own.
const LOAD_LOG = `import { registerHooks } from 'node:module';
const loaded = (globalThis.__strataLoaded = []);
registerHooks({
  load(url, context, nextLoad) {
    loaded.push(url);
    return nextLoad(url, context);
  },
});
`;

// The app `strata serve` runs: it answers with the strata modules loaded in its process.
const SERVED_APP = `import { App } from 'strata-stack';

const app = new App();
app.get('/hello/:name', (c) =>
  c.json({
    hello: c.params.name,
    strata: globalThis.__strataLoaded.filter((u) => /\\/(src|dist)\\/(app|cli|gateway|server|parallel|realtime|observe|proxy)\\//.test(u)),
  }),
);
export default app;
`;

// Prints { file: [static import specifiers] } for every .js file below the working directory.
const LIST_IMPORTS = `import { readdirSync, readFileSync } from 'node:fs';
import { SourceTextModule } from 'node:vm';
const out = {};
for (const file of readdirSync('.', { recursive: true, encoding: 'utf8' }))
  if (file.endsWith('.js')) out[file] = new SourceTextModule(readFileSync(file, 'utf8')).dependencySpecifiers;
process.stdout.write(JSON.stringify(out));
`;

before(async () => {
  packed = await packStrata();
  app = tempDir('strata-app-');
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'strata-pack-check', private: true, type: 'module' }),
  );
  const install = await runOk(
    'npm',
    ['install', packed.tarball, '--foreground-scripts', ...NPM_INSTALL_FLAGS],
    {
      cwd: app,
    },
  );
  // The native addon's install script ran from the tarball: built, or skipped with a reason.
  assert.match(install.stdout + install.stderr, /strata: sendfile addon (built|not built|skipped)/);
  writeFileSync(join(app, 'load-log.mjs'), LOAD_LOG);
  writeFileSync(join(app, 'served.ts'), SERVED_APP);
});

after(() => {
  packed?.cleanup();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds the built package and nothing of the source', { timeout: TIMEOUT }, async () => {
  for (const file of [
    'package.json',
    'README.md',
    'bin/strata.js',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/server.js',
    'dist/cli/main.js',
    'dist/cli/init-command.js',
    'native/sendfile/binding.gyp',
    'native/sendfile/build.mjs',
    'native/sendfile/sendfile.c',
  ])
    assert.ok(packed.files.includes(file), `${file} is in the tarball`);
  assert.deepEqual(
    packed.files.filter((f) => f.startsWith('src/') || f.startsWith('test/') || /(?<!\.d)\.ts$/.test(f)),
    [],
    'no TypeScript source in the tarball (node does not strip types under node_modules)',
  );
  // Every relative import of the emitted JavaScript names a .js file: tsc rewrote the .ts ones.
  // (The imports as V8 parses them: a regex would also see the scaffold's templates.)
  const specifiers = await runOk(
    process.execPath,
    ['--experimental-vm-modules', '--no-warnings', '--input-type=module', '-e', LIST_IMPORTS],
    { cwd: join(app, 'node_modules', 'strata-stack', 'dist') },
  );
  const imports = JSON.parse(specifiers.stdout) as Record<string, string[]>;
  assert.ok(Object.keys(imports).length > 50, 'every module of dist/ was parsed');
  const bad = Object.entries(imports).flatMap(([file, list]) =>
    list.filter((s) => s.startsWith('.') && !s.endsWith('.js')).map((s) => `${file}: ${s}`),
  );
  assert.deepEqual(bad, [], 'relative imports that do not name a .js file');
});

test('an app imports the installed package, serves a route and gets the answer', {
  timeout: TIMEOUT,
}, async () => {
  writeFileSync(
    join(app, 'main.ts'),
    `import { App } from 'strata-stack';
import { serve } from 'strata-stack/server';

const app = new App();
app.get('/hello/:name', (c) => c.json({ hello: c.params.name }));
const server = await serve(app, { port: 0, host: '127.0.0.1', logger: false });
const res = await fetch(new URL('/hello/packed', server.url));
process.stdout.write(JSON.stringify({ status: res.status, body: await res.json() }));
await server.close();
`,
  );
  const { stdout } = await runOk(process.execPath, ['main.ts'], { cwd: app, timeoutMs: 30_000 });
  assert.deepEqual(JSON.parse(stdout.slice(stdout.lastIndexOf('{"status"'))), {
    status: 200,
    body: { hello: 'packed' },
  });

  // Every entry point of `exports` resolves and loads, from plain JavaScript.
  writeFileSync(
    join(app, 'entries.js'),
    `const names = ['strata-stack', 'strata-stack/gateway', 'strata-stack/server', 'strata-stack/parallel',
  'strata-stack/observe', 'strata-stack/realtime', 'strata-stack/proxy', 'strata-stack/config', 'strata-stack/testing', 'strata-stack/bun', 'strata-stack/deno', 'strata-stack/init'];
const loaded = {};
for (const name of names) loaded[name] = Object.keys(await import(name)).length;
const { default: manifest } = await import('strata-stack/package.json', { with: { type: 'json' } });
process.stdout.write(JSON.stringify({ loaded, name: manifest.name }));
`,
  );
  const entries = JSON.parse(
    (await runOk(process.execPath, ['entries.js'], { cwd: app, timeoutMs: 30_000 })).stdout,
  );
  assert.equal(entries.name, 'strata-stack');
  for (const [name, count] of Object.entries(entries.loaded))
    assert.ok((count as number) > 0, `${name} exports something`);
});

/** Strata's modules that the served app saw loaded: each once, all from `dir` (dist/ or src/). */
function assertOneCopy(modules: string[], dir: string): void {
  const key = (url: string) => url.replace(/^.*\/(?:src|dist)\//, '').replace(/\.(?:ts|js)$/, '');
  const keys = modules.map(key);
  assert.ok(keys.includes('cli/main'), "the CLI's modules are in the list");
  assert.ok(keys.includes('app/app'), "the app's modules are in the list");
  // Loaded by both the server (through the CLI) and the app (openFile): one registry, not two.
  assert.ok(keys.includes('gateway/file-body'));
  assert.deepEqual(
    keys.filter((k, i) => keys.indexOf(k) !== i),
    [],
    'no strata module loaded twice (say, src/gateway/index.ts for the CLI, dist/gateway/index.js for the app)',
  );
  const dirUrl = pathToFileURL(dir).href;
  assert.deepEqual(
    modules.filter((u) => !u.startsWith(`${dirUrl}/`)).slice(0, 5),
    [],
    `every strata module comes from ${dir}`,
  );
}

/**
 * `strata serve served.ts` in `cwd`, by default through the bin as npm links it, run the way
 * `npx strata` and npm scripts run it (its #! line).
 */
async function serveThroughBin(
  cwd: string,
  bin = [join(cwd, 'node_modules', '.bin', 'strata')],
): Promise<{ hello: string; strata: string[] }> {
  const env = childEnv({ NODE_OPTIONS: `--import=${pathToFileURL(join(cwd, 'load-log.mjs')).href}` });
  const [command, ...args] = bin;
  const server = await startServer(command!, [...args, 'serve', 'served.ts', '--port', '0'], { cwd, env });
  try {
    const res = await fetch(new URL('/hello/bin', server.url));
    assert.equal(res.status, 200, server.output());
    return (await res.json()) as { hello: string; strata: string[] };
  } finally {
    await stopServer(server.child);
  }
}

test('the installed `strata serve` serves the app, with one copy of strata in the process', {
  timeout: TIMEOUT,
}, async () => {
  const body = await serveThroughBin(app);
  assert.equal(body.hello, 'bin');
  assertOneCopy(body.strata, join(app, 'node_modules', 'strata-stack', 'dist'));
});

test('a path install (a symlink to a checkout with src/ and dist/) also runs one copy', {
  timeout: TIMEOUT,
}, async () => {
  // What `npm install ../strata` (install-links=false) makes: a link to the checkout and its bin.
  const linked = tempDir('strata-linked-');
  writeFileSync(
    join(linked, 'package.json'),
    JSON.stringify({ name: 'strata-link-check', private: true, type: 'module' }),
  );
  mkdirSync(join(linked, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(packed.stage, join(linked, 'node_modules', 'strata-stack'), 'dir');
  symlinkSync(join('..', 'strata-stack', 'bin', 'strata.js'), join(linked, 'node_modules', '.bin', 'strata'));
  writeFileSync(join(linked, 'load-log.mjs'), LOAD_LOG);
  writeFileSync(join(linked, 'served.ts'), SERVED_APP);
  const body = await serveThroughBin(linked);
  assertOneCopy(body.strata, join(packed.stage, 'dist'));
});

test("the checkout's own project (an example importing src/) runs src/, also one copy", {
  timeout: TIMEOUT,
}, async () => {
  // As `npx strata serve examples/app/app.ts` in a checkout: the bin is found through a link, but
  // the working directory belongs to the strata-stack package itself.
  writeFileSync(join(packed.stage, 'load-log.mjs'), LOAD_LOG);
  writeFileSync(join(packed.stage, 'served.ts'), SERVED_APP.replace("'strata-stack'", "'./src/index.ts'"));
  const link = join(tempDir('strata-npx-'), 'strata');
  symlinkSync(join(packed.stage, 'bin', 'strata.js'), link);
  const body = await serveThroughBin(packed.stage, [link]);
  assertOneCopy(body.strata, join(packed.stage, 'src'));
});

test('a TypeScript app type-checks against the shipped declarations', { timeout: TIMEOUT }, async () => {
  writeFileSync(
    join(app, 'check.ts'),
    `import { App, HttpError, parseBody } from 'strata-stack';
import { type ServeOptions, serve } from 'strata-stack/server';
import { ThreadPool } from 'strata-stack/parallel';
import { RedisBroker } from 'strata-stack/realtime';
import { createLogger } from 'strata-stack/observe';
import { openFile } from 'strata-stack/gateway';
import { runInit } from 'strata-stack/init';

const app = new App();
app.get('/users/:id', (c) => c.json({ id: c.params.id.toUpperCase() }));
// @ts-expect-error the route has no param "nope": the declarations are typed, not any
app.get('/orders/:id', (c) => c.json({ id: c.params.nope }));
const options: ServeOptions = { port: 0, host: '127.0.0.1' };
export const used = [serve, options, ThreadPool, RedisBroker, createLogger, openFile, runInit, HttpError, parseBody];
`,
  );
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2024',
        module: 'nodenext',
        lib: ['es2024', 'dom', 'dom.iterable'],
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      files: ['check.ts'],
    }),
  );
  const result = await runOk(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], {
    cwd: app,
  });
  assert.equal(result.stdout.trim(), '');
});

test('the addon install script degrades without a compiler: the install still succeeds', {
  timeout: TIMEOUT,
}, async () => {
  const result = await runOk('npm', ['rebuild', 'strata-stack', '--foreground-scripts', '--loglevel=error'], {
    cwd: app,
    env: childEnv({ CC: '/bin/false', CXX: '/bin/false' }),
  });
  assert.match(
    result.stdout + result.stderr,
    /strata: sendfile addon not built .*large static files are streamed/,
  );
});
