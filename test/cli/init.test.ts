/**
 * `strata init`: the app it writes installs (strata-stack from the packed tarball), passes its
 * own `npm test`, type-checks, and serves its page with `npm start`. The time from the scaffold
 * to the first served page is printed as a diagnostic. Slow for a test file (npm pack, npm
 * install of the app with its pinned Node and TypeScript: about 20-60 s, bounded at 4 minutes).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { packageName, parseInitFlags } from '../../src/cli/init-command.ts';
import { CLI, killGroup, portFreeWithin } from '../fixtures/cli.ts';
import {
  childEnv,
  NPM_INSTALL_FLAGS,
  type Packed,
  packStrata,
  ROOT,
  run,
  runOk,
  startServer,
  stopServer,
} from '../fixtures/pack.ts';
import { freePort } from '../fixtures/ports.ts';

const TIMEOUT = 240_000;
const FILES = [
  '.gitignore',
  'README.md',
  'app.test.ts',
  'app.ts',
  'package.json',
  'public/index.html',
  'strata.config.ts',
  'tsconfig.json',
];

let packed: Packed;
let work: string;

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.parentPath.includes('node_modules'))
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'strata-init-'));
  packed = await packStrata();
});

after(() => {
  packed?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

test('strata init refuses a directory with something in it, and writes nothing there', {
  timeout: TIMEOUT,
}, async () => {
  const taken = join(work, 'taken');
  mkdirSync(taken);
  writeFileSync(join(taken, 'notes.txt'), 'mine');
  const result = await run(process.execPath, [CLI, 'init', taken], { cwd: work });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /is not empty \(notes\.txt\).*\[STRATA_ERR_CLI_USAGE\]/s);
  assert.deepEqual(readdirSync(taken), ['notes.txt']);
  const extra = await run(process.execPath, [CLI, 'init', 'a', 'b'], { cwd: work });
  assert.equal(extra.code, 2);
  assert.equal(packageName('/x/My App!'), 'my-app-');
  assert.equal(packageName('/x/.hidden'), 'hidden');
  // --from: a path becomes an absolute file: spec (npm reads relative ones from the app's dir).
  const from = (spec: string) =>
    (parseInitFlags(['app', '--from', spec], '/home/u') as { from: string }).from;
  assert.equal(from('../strata-stack-0.1.0.tgz'), 'file:/home/strata-stack-0.1.0.tgz');
  assert.equal(from('./strata'), 'file:/home/u/strata');
  assert.equal(from('git+https://example.com/o/strata.git'), 'git+https://example.com/o/strata.git');
  assert.equal(from('^0.2.0'), '^0.2.0');
  assert.match((parseInitFlags(['app'], '/home/u') as { from: string }).from, /^\^\d+\.\d+\.\d+/);
});

test('the app strata init writes installs, passes its tests and serves its page', {
  timeout: TIMEOUT,
}, async (t) => {
  const app = join(work, 'my-app');
  const started = performance.now();
  const init = await runOk(process.execPath, [CLI, 'init', 'my-app', '--from', `file:${packed.tarball}`], {
    cwd: work,
  });
  assert.match(init.stdout, /cd my-app\n {2}npm install\n {2}npm start/);
  assert.deepEqual(listFiles(app), FILES);
  const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  assert.equal(manifest.name, 'my-app');
  assert.equal(manifest.devDependencies.node, '24.x');
  // How it is served is in strata.config.ts (app, port, static), so the scripts are bare.
  assert.equal(manifest.scripts.start, 'strata serve');
  assert.equal(manifest.scripts.dev, 'strata serve --watch --dev');
  const config = readFileSync(join(app, 'strata.config.ts'), 'utf8');
  assert.match(config, /import \{ defineConfig \} from 'strata-stack\/config';/);
  assert.match(config, /app: '\.\/app\.ts'/);
  assert.match(config, /static: '\.\/public'/);
  assert.match(config, /\/\/ maxBodySize: /);
  const tsconfig = JSON.parse(readFileSync(join(app, 'tsconfig.json'), 'utf8')).compilerOptions;
  for (const flag of [
    'allowImportingTsExtensions',
    'erasableSyntaxOnly',
    'verbatimModuleSyntax',
    'noEmit',
    'strict',
  ])
    assert.equal(tsconfig[flag], true, flag);

  await runOk('npm', ['install', ...NPM_INSTALL_FLAGS], { cwd: app, timeoutMs: 180_000 });
  const installed = performance.now();
  const port = await freePort();
  const server = await startServer('npm', ['start'], { cwd: app, env: childEnv({ PORT: String(port) }) });
  try {
    const page = await fetch(server.url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await page.text(), /<h1>my-app<\/h1>/);
    const served = performance.now();
    t.diagnostic(
      `scaffold to first served page: ${Math.round(served - started)} ms (npm install ${Math.round(installed - started)} ms)`,
    );
    const api = await fetch(new URL('/api/hello/ada', server.url));
    assert.deepEqual(await api.json(), { hello: 'ada' });
    // Killing npm alone (not its process group) stops the server: npm → sh → node.
    server.child.kill('SIGTERM');
    assert.ok(await portFreeWithin(port, 5000), `port ${port} still taken after npm got SIGTERM`);
  } finally {
    await stopServer(server.child);
    killGroup(server.child.pid);
  }

  const tests = await runOk('npm', ['test'], { cwd: app, timeoutMs: 60_000 });
  assert.match(tests.stdout, /# pass 4|ℹ pass 4/);
  assert.match(tests.stdout, /# fail 0|ℹ fail 0/);
  await runOk('npm', ['run', 'typecheck'], { cwd: app, timeoutMs: 60_000 });

  // npm create strata-stack runs packages/create-strata-stack: the same files, through the
  // package's strata-stack/init export (resolved here from the app's node_modules).
  const creator = join(app, 'create');
  cpSync(join(ROOT, 'packages', 'create-strata-stack'), creator, { recursive: true });
  await runOk(process.execPath, [join(creator, 'index.js'), join(work, 'created'), '--from', 'file:x.tgz'], {
    cwd: work,
  });
  assert.deepEqual(listFiles(join(work, 'created')), FILES);
  assert.equal(
    readFileSync(join(work, 'created', 'app.ts'), 'utf8'),
    readFileSync(join(app, 'app.ts'), 'utf8'),
  );
  const refused = await run(process.execPath, [join(creator, 'index.js'), join(work, 'created')], {
    cwd: work,
  });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /^create-strata-stack: .* is not empty/);
});
