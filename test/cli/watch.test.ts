/**
 * `strata serve --watch`: a change anywhere in the app's module graph (or the config file)
 * restarts it on the same port with no refused connection; a change that does not load keeps
 * the old version serving and says where the error is; a burst of saves is one restart.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CLI } from '../fixtures/cli.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Watched {
  child: ChildProcess;
  url: string;
  out: () => string;
  err: () => string;
  /** Resolves once stdout (or stderr) has `n` matches of `pattern`. */
  until: (pattern: RegExp, n?: number, stream?: 'out' | 'err') => Promise<void>;
}

function app(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'strata-watch-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const ENTRY = `import { message } from './lib/message.ts';
export default { fetch: () => new Response(message) };
`;
const message = (text: string) => `export const message: string = ${JSON.stringify(text)};\n`;

function watchServe(dir: string, args: string[] = []): Promise<Watched> {
  const child = spawn(process.execPath, [CLI, 'serve', 'app.ts', '--watch', '--port', '0', ...args], {
    cwd: dir,
  });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  const poke = () => {
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', (c) => {
    out += c;
    poke();
  });
  child.stderr!.on('data', (c) => {
    err += c;
    poke();
  });
  const until = (pattern: RegExp, n = 1, stream: 'out' | 'err' = 'out') =>
    new Promise<void>((resolve, reject) => {
      const count = () => (stream === 'out' ? out : err).match(new RegExp(pattern, 'g'))?.length ?? 0;
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(check), 1);
        reject(new Error(`timed out waiting for ${pattern} ×${n}\nstdout:\n${out}\nstderr:\n${err}`));
      }, 20_000);
      const check = () => {
        if (count() < n) return;
        clearTimeout(timer);
        waiters.splice(waiters.indexOf(check), 1);
        resolve();
      };
      waiters.push(check);
      check();
    });
  return until(/"msg":"watch: serving/).then(() => ({
    child,
    url: /"url":"(http:\/\/[^"]+)","watching"/.exec(out)![1]!,
    out: () => out,
    err: () => err,
    until,
  }));
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

/** One GET on a new connection (no keep-alive): its body, or the connection error's code. */
function getOnce(url: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
      res.on('error', (e: NodeJS.ErrnoException) => resolve(`error:${e.code}`));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(`error:${e.code}`));
    req.end();
  });
}

test('a change to an imported module restarts on the same port, refusing no connection', {
  timeout: 60_000,
}, async () => {
  const dir = app({ 'app.ts': ENTRY, 'lib/message.ts': message('v1') });
  const w = await watchServe(dir);
  try {
    assert.equal(await getOnce(w.url), 'v1');
    // A client asks without pause (one connection each) across two restarts.
    const answers: string[] = [];
    let asking = true;
    const client = (async () => {
      for (let i = 0; asking && i < 5000; i++) answers.push(await getOnce(w.url));
    })();
    for (const [n, text] of [
      [1, 'v2'],
      [2, 'v3'],
    ] as const) {
      writeFileSync(join(dir, 'lib', 'message.ts'), message(text));
      await w.until(/"msg":"watch: restarted"/, n);
    }
    asking = false;
    await client;
    const errors = answers.filter((a) => a.startsWith('error:'));
    assert.deepEqual(errors, [], `${errors.length} of ${answers.length} requests failed`);
    assert.ok(answers.includes('v1') && answers.at(-1) === 'v3', answers.join(','));
    assert.equal(await getOnce(w.url), 'v3');
  } finally {
    assert.equal(await stop(w.child), 0);
  }
});

test('a syntax error keeps the old version serving and points at it; the next good save recovers', {
  timeout: 60_000,
}, async () => {
  const dir = app({ 'app.ts': ENTRY, 'lib/message.ts': message('v1') });
  const w = await watchServe(dir);
  try {
    writeFileSync(join(dir, 'lib', 'message.ts'), 'export const message: string = "v2" +;\n');
    await w.until(/"msg":"watch: the change did not load/);
    assert.equal(await getOnce(w.url), 'v1');
    const where = join(dir, 'lib', 'message.ts').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assert.match(
      w.err(),
      new RegExp(`${where}:1:38\\n 1 \\| export const message: string = "v2" \\+;\\n {3}\\| {38}\\^`),
    );
    writeFileSync(join(dir, 'lib', 'message.ts'), message('v3'));
    await w.until(/"msg":"watch: restarted"/);
    assert.equal(await getOnce(w.url), 'v3');
  } finally {
    assert.equal(await stop(w.child), 0);
  }
});

test('a burst of saves is one restart; the config file is watched too', { timeout: 60_000 }, async () => {
  const dir = app({
    'app.ts': ENTRY,
    'lib/message.ts': message('v1'),
    'a/file.txt': 'from a',
    'b/file.txt': 'from b',
    'strata.config.json': JSON.stringify({ static: './a' }),
  });
  const w = await watchServe(dir);
  try {
    assert.equal(await getOnce(`${w.url}/file.txt`), 'from a');
    for (let i = 0; i < 5; i++) writeFileSync(join(dir, 'lib', 'message.ts'), message(`burst ${i}`));
    await w.until(/"msg":"watch: restarted"/);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(w.out().match(/"msg":"watch: restarted"/g)?.length, 1, w.out());
    assert.equal(await getOnce(w.url), 'burst 4');
    writeFileSync(join(dir, 'strata.config.json'), JSON.stringify({ static: './b' }));
    await w.until(/"msg":"watch: restarted"/, 2);
    assert.equal(await getOnce(`${w.url}/file.txt`), 'from b');
  } finally {
    assert.equal(await stop(w.child), 0);
  }
});

test('an app that fails its first start waits for a change, then serves', { timeout: 60_000 }, async () => {
  const dir = app({ 'app.ts': ENTRY, 'lib/message.ts': 'enum Broken { A }\nexport const message = "x";\n' });
  const child = spawn(process.execPath, [CLI, 'serve', 'app.ts', '--watch', '--port', '0'], { cwd: dir });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  try {
    const deadline = Date.now() + 20_000;
    while (!out.includes('waiting for a change') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /did not start \(the error is above\); waiting for a change/);
    assert.match(err, /hint: an enum is not erasable/);
    writeFileSync(join(dir, 'lib', 'message.ts'), message('fixed'));
    while (!out.includes('"msg":"watch: serving') && Date.now() < deadline + 20_000)
      await new Promise((r) => setTimeout(r, 50));
    const url = /"url":"(http:\/\/[^"]+)","watching"/.exec(out)?.[1];
    assert.ok(url, out);
    assert.equal(await getOnce(url), 'fixed');
  } finally {
    assert.equal(await stop(child), 0);
  }
});
