/**
 * What the docs and `--help` promise about `strata serve`, checked through the real CLI:
 * `/healthz` on the supervisor's admin listener says 503 when the machine takes no traffic,
 * `--dev` puts the stack in an App's 500, and a node `(req, res)` handler is served the way
 * the help says (marked), with an error that says how when it is not.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { serve } from '../../src/server.ts';
import { ROOT, startCli, stopCli } from '../fixtures/cli.ts';
import { memoryLogger } from '../fixtures/http.ts';
import { killAll, type Primary, sleep, startPrimary } from '../fixtures/supervisor.ts';

const DIR = mkdtempSync(join(tmpdir(), 'strata-promises-'));
after(() => {
  killAll();
  rmSync(DIR, { recursive: true, force: true });
});

const src = (path: string): string => JSON.stringify(join(ROOT, 'src', path));

/** Writes a module into the test's directory and returns its path. */
function module(name: string, text: string): string {
  const path = join(DIR, name);
  writeFileSync(path, text);
  return path;
}

// ---- /healthz under --workers --------------------------------------------------------------

const BUSY_APP = `
// /busy?ms=N keeps the loop mostly blocked (150 ms out of every ~155) for N ms, but turning, so
// the worker's monitor samples and its IPC flows; /slow?ms=N answers after N ms; /crash exits.
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const ms = Number(url.searchParams.get('ms') ?? 0);
    if (url.pathname === '/busy') {
      const until = Date.now() + ms;
      const timer = setInterval(() => {
        const end = Date.now() + 150;
        while (Date.now() < end) {}
        if (Date.now() > until) clearInterval(timer);
      }, 5);
      return new Response('busy');
    }
    if (url.pathname === '/slow') await new Promise((r) => setTimeout(r, ms));
    if (url.pathname === '/crash') setTimeout(() => process.exit(3), 10);
    return new Response(String(process.pid));
  },
};
`;

async function healthz(url: string): Promise<number> {
  try {
    const res = await fetch(`${url}/healthz`);
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Polls /healthz every 20 ms until it answers `status`; returns whether it did in time. */
async function healthzBecomes(url: string, status: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await healthz(url)) === status) return true;
    await sleep(20);
  }
  return false;
}

describe('/healthz on the supervisor admin listener (--workers)', () => {
  let primary: Primary;
  let admin: string;

  test('200 while a worker takes traffic; 503 while every worker sheds load, while none is up, and while draining', async () => {
    primary = await startPrimary(
      ['--workers', '1', '--admin', '127.0.0.1:0', '--max-event-loop-delay', '40'],
      module('busy-app.mjs', BUSY_APP),
    );
    const line = await primary.waitForLine((l) => l.msg === 'supervisor: admin listener');
    admin = String(line.url).replace(/\/metrics$/, '');
    assert.equal(await healthz(admin), 200, 'healthy at first');

    // The only worker sheds load: nobody is ready to take traffic.
    await fetch(`${primary.url}/busy?ms=1500`).then((r) => r.text());
    assert.ok(await healthzBecomes(admin, 503, 4000), '503 while the only worker sheds load');
    assert.ok(await healthzBecomes(admin, 200, 6000), '200 again once it has recovered');

    // The only worker crashed: 503 until its replacement is ready.
    await fetch(`${primary.url}/crash`).then((r) => r.text());
    assert.ok(await healthzBecomes(admin, 503, 3000), '503 while no worker is up');
    assert.ok(await healthzBecomes(admin, 200, 10_000), '200 once the replacement is ready');

    // SIGTERM: the supervisor drains (a slow request holds the drain open).
    const slow = fetch(`${primary.url}/slow?ms=1500`).then((r) => r.status);
    await sleep(200);
    primary.signal('SIGTERM');
    assert.ok(await healthzBecomes(admin, 503, 2000), '503 while the supervisor drains');
    assert.equal(await slow, 200, 'the request in flight was finished');
    const exit = await primary.exited;
    assert.equal(exit.code, 0);
  });
});

// ---- --dev --------------------------------------------------------------------------------

const THROWING_APP = `
import { App } from ${src('index.ts')};
const app = new App({ log: false });
app.get('/boom', () => {
  throw new Error('the route failed on purpose');
});
export default app;
`;

describe('--dev turns on the App dev mode', { concurrency: true }, () => {
  const file = module('throwing-app.ts', THROWING_APP);
  const cases: [string, string[], boolean][] = [
    ['with --dev the 500 carries the message and the stack', ['--dev'], true],
    ['without it the 500 carries neither', [], false],
  ];
  for (const [name, flags, dev] of cases) {
    test(name, async () => {
      const cli = await startCli([file, ...flags]);
      try {
        const res = await fetch(`${cli.url}/boom`);
        assert.equal(res.status, 500);
        const body = await res.text();
        assert.equal(body.includes('the route failed on purpose'), dev, body);
        assert.equal(/throwing-app\.ts:\d+/.test(body), dev, 'a stack frame of the app');
      } finally {
        await stopCli(cli.child);
      }
    });
  }
});

// ---- node (req, res) handlers ---------------------------------------------------------------

const NODE_BODY = `(req, res) => {
  res.setHeader('x-kind', 'node');
  res.end('node handler');
}`;

describe('a node (req, res) default export', { concurrency: true }, () => {
  const served: [string, string][] = [
    ['marked with export const kind = "node"', `export default ${NODE_BODY};\nexport const kind = 'node';\n`],
    [
      'marked with nodeHandler()',
      `import { nodeHandler } from ${src('gateway/index.ts')};\nexport default nodeHandler(${NODE_BODY});\n`,
    ],
  ];
  served.forEach(([name, text], i) => {
    test(`${name} is served as a node handler`, async () => {
      const cli = await startCli([module(`node-${i}.mjs`, text)]);
      try {
        const res = await fetch(cli.url);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-kind'), 'node');
        assert.equal(await res.text(), 'node handler');
      } finally {
        await stopCli(cli.child);
      }
    });
  });

  /** The error a bare two-parameter function gets when it acts as a node handler. */
  function assertExplains(text: string, what: RegExp): void {
    assert.match(text, /a function of two parameters, which is served as a fetch handler/);
    assert.match(text, what);
    assert.match(text, /export default nodeHandler\(handler\)/);
    assert.match(text, /export const kind = 'node'/);
  }

  test('a bare (req, res) function answers 500, and the logged error says how to mark it', async () => {
    const cli = await startCli([module('bare.mjs', `export default ${NODE_BODY};\n`)]);
    try {
      const res = await fetch(cli.url);
      assert.equal(res.status, 500);
      await res.arrayBuffer();
      await sleep(100);
      assert.match(cli.stdout(), /STRATA_ERR_BAD_RESPONSE/);
      assertExplains(cli.stdout(), /threw TypeError: res\.setHeader is not a function/);
    } finally {
      await stopCli(cli.child);
    }
  });

  const unmarked: [string, (req: unknown, res: unknown) => unknown, RegExp][] = [
    ['an async one', async (_req, res) => (res as { end(s: string): void }).end('late'), /threw TypeError/],
    ['one that writes nothing', (_req, _res) => undefined, /returned undefined instead of a Response/],
    ['an async one that writes nothing', async (_req, _res) => undefined, /resolved to undefined/],
  ];
  for (const [name, handler, what] of unmarked) {
    test(`${name} gets the same 500 and error (through serve())`, async () => {
      const { logger, lines } = memoryLogger();
      await using server = await serve(handler as never, { port: 0, dev: true, logger });
      const res = await fetch(server.url);
      assert.equal(res.status, 500);
      assertExplains(await res.text(), what);
      const logged = lines.find((l) => l.msg === 'request failed') as { err?: { code?: string } } | undefined;
      assert.equal(logged?.err?.code, 'STRATA_ERR_BAD_RESPONSE');
    });
  }

  test('export const kind must be node or fetch', async () => {
    const file = module('bad-kind.mjs', `export default ${NODE_BODY};\nexport const kind = 'express';\n`);
    const { code, stderr } = await runBounded(['serve', file, '--port', '0'], 10_000);
    assert.equal(code, 1);
    assert.match(stderr, /STRATA_ERR_BAD_APP/);
    assert.match(stderr, /'node' for a \(req, res\) handler/);
  });

  test('export const kind = "fetch" serves even a three-parameter function as fetch', async () => {
    const file = module(
      'fetch-kind.mjs',
      `export default (request, _info, _extra) => new Response('fetch ' + request.method);\nexport const kind = 'fetch';\n`,
    );
    const cli = await startCli([file]);
    try {
      assert.equal(await (await fetch(cli.url, { signal: AbortSignal.timeout(5000) })).text(), 'fetch GET');
    } finally {
      await stopCli(cli.child);
    }
  });

  test('--help and docs/cli.md say the same: how to mark a (req, res) handler', async () => {
    const { stdout } = await runBounded(['serve', '--help']);
    const doc = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
    for (const text of [stdout, doc]) {
      assert.match(text, /nodeHandler\(/);
      assert.match(text, /export const kind = 'node'/);
      assert.match(text, /Express, Connect or Koa/);
    }
  });
});

/** Runs the CLI to completion, or kills it after `timeoutMs` (a server that should not have started). */
async function runBounded(
  args: string[],
  timeoutMs = 15_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}
