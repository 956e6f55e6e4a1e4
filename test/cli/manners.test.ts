/**
 * The command line's manners: --version, bare `strata`, "did you mean", aligned help, a port in
 * use said once under --workers, one log line at shutdown, and `npm start` stopping with npm.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { INIT_USAGE } from '../../src/cli/init-command.ts';
import { parseServeFlags, SERVE_USAGE } from '../../src/cli/serve-command.ts';
import { didYouMean } from '../../src/cli/usage.ts';
import { prettyLine } from '../../src/observe/logger.ts';
import { CLI, killGroup, portFreeWithin, ROOT, runCli, startCli, stopCli } from '../fixtures/cli.ts';
import { freePort } from '../fixtures/ports.ts';

const APP = join(ROOT, 'test', 'fixtures', 'apps', 'fetch-app.ts');
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;

/** Runs the CLI to completion with both streams. */
function runAll(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('strata --version and bare strata', { concurrency: true }, () => {
  for (const flag of ['--version', '-v']) {
    test(`strata ${flag} prints the package version`, async () => {
      const result = await runAll([flag]);
      assert.equal(result.code, 0);
      assert.equal(result.stdout, `${VERSION}\n`);
    });
  }

  test('bare strata prints the help on stderr and exits 2; --help prints it on stdout', async () => {
    const bare = await runAll([]);
    assert.equal(bare.code, 2);
    assert.equal(bare.stdout, '');
    assert.match(bare.stderr, /^Usage: strata <command>/);
    const help = await runAll(['--help']);
    assert.equal(help.code, 0);
    assert.equal(help.stdout, bare.stderr);
  });
});

describe('did you mean', { concurrency: true }, () => {
  // Spawned: main.ts runs on import. [argv, what the message must say]; null: no suggestion.
  const cases: [string[], RegExp | null][] = [
    [['serv'], /Unknown command "serv" \(did you mean "serve"\?\)/],
    [['--verison'], /Unknown option "--verison" \(did you mean "--version"\?\)/],
    [['x'.repeat(10_000)], null],
  ];
  for (const [args, message] of cases) {
    test(`strata ${args[0]!.slice(0, 20)}`, async () => {
      const result = await runCli(args);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /\[STRATA_ERR_CLI_USAGE\]/);
      if (message === null) assert.doesNotMatch(result.stderr, /did you mean/);
      else assert.match(result.stderr, message);
    });
  }

  const commands: [string, string | null][] = [
    ['inti', 'init'],
    ['srve', 'serve'],
    ['deploy', null],
    ['serve\u001b[2J', null],
    ['', null],
  ];
  for (const [word, near] of commands) {
    test(`didYouMean(${JSON.stringify(word)})`, () => {
      assert.equal(
        didYouMean(word, ['serve', 'init', 'help']),
        near === null ? '' : ` (did you mean "${near}"?)`,
      );
    });
  }

  // Parsed in-process: the flag tables are the candidates.
  const flags: [string, string | null][] = [
    ['--prot', '--port'],
    ['--wacth', '--watch'],
    ['--wokers', '--workers'],
    ['--acess-log', '--access-log'],
    ['--stati', '--static'],
    ['--zzzzzzzzz', null],
    [`--${'p'.repeat(5000)}`, null],
    ['--port\u001b]0;pwned\u0007', null],
  ];
  for (const [flag, near] of flags) {
    test(`strata serve ${flag.slice(0, 20)}`, () => {
      assert.throws(
        () => parseServeFlags(['app.ts', flag], {}),
        (err: Error) => {
          assert.match(err.message, /^Unknown option '--/);
          if (near === null) assert.doesNotMatch(err.message, /did you mean/);
          else assert.ok(err.message.includes(`(did you mean "${near}"?)`), err.message);
          return true;
        },
      );
    });
  }
});

test('help: every option description starts at the same column', () => {
  for (const usage of [SERVE_USAGE, INIT_USAGE]) {
    const lines = usage.slice(usage.indexOf('Options:\n') + 'Options:\n'.length).split('\n');
    const columns = new Set<number>();
    for (const line of lines) {
      if (line.trim() === '') continue;
      // An option line: "  -p, --port <n>   text" or "      --host <h>   text"; else a continuation.
      const m = /^( {2}(?:-\w, | {4})--\S+(?: \S+)?\s{2,})\S/.exec(line) ?? /^(\s+)\S/.exec(line);
      assert.ok(m, `an option line: ${JSON.stringify(line)}`);
      columns.add(m[1]!.length);
    }
    assert.equal(columns.size, 1, `one description column, got ${[...columns].join(', ')}`);
  }
});

test('--workers with a port in use: said once, before any worker starts', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  try {
    const result = await runAll(['serve', APP, '--port', String(port), '--workers', '2']);
    assert.equal(result.code, 1);
    assert.equal(result.stderr.match(/already in use/g)?.length, 1, result.stderr);
    assert.match(result.stderr, /\[STRATA_ERR_PORT_IN_USE\]/);
    assert.doesNotMatch(result.stdout, /worker started/);
  } finally {
    blocker.close();
  }
});

describe('one log line at shutdown', () => {
  test('one process', async () => {
    const { child, stdout, url } = await startCli([APP]);
    // Serving (its signal handlers are in place once a request has been answered).
    assert.equal((await fetch(url)).status, 200);
    const before = stdout().split('\n').filter(Boolean).length;
    assert.equal(await stopCli(child), 0);
    const after = stdout().split('\n').filter(Boolean).slice(before);
    assert.equal(after.length, 1, after.join('\n'));
    assert.match(after[0]!, /"signal":"SIGTERM".*"msg":"stopping"/);
  });

  test('--workers 2: the supervisor’s line, none per worker', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'serve', APP, '--port', String(port), '--workers', '2'], {
      cwd: ROOT,
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not serving: ${out}`)), 20_000);
        child.stdout.on('data', () => {
          if (out.includes('supervisor: serving')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const before = out.split('\n').filter(Boolean).length;
      assert.equal(await stopCli(child), 0);
      const after = out.split('\n').filter(Boolean).slice(before);
      assert.equal(after.length, 1, after.join('\n'));
      assert.match(after[0]!, /supervisor: graceful stop/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

// npm → sh → node: npm passes SIGTERM to the shell, which dies of it without passing it on; the
// server sees its parent go. Ctrl-C in a terminal is SIGINT to the whole process group.
const npmStops = [
  { how: 'npm alone gets SIGTERM', kill: (pid: number) => process.kill(pid, 'SIGTERM') },
  { how: 'Ctrl-C (SIGINT to the process group)', kill: (pid: number) => process.kill(-pid, 'SIGINT') },
];
for (const { how, kill } of npmStops) {
  test(`npm start stops serving when ${how}`, { timeout: 30_000 }, async () => {
    const port = await freePort();
    const npm = spawn('npm', ['start'], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port) },
      detached: true,
    });
    let out = '';
    npm.stdout.on('data', (c) => (out += c));
    npm.stderr.on('data', (c) => (out += c));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 20_000);
        npm.stdout.on('data', () => {
          if (out.includes('"msg":"listening"')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      assert.equal(await portFreeWithin(port, 0), false, 'the server listens');
      kill(npm.pid!);
      assert.ok(await portFreeWithin(port, 5000), `port ${port} still taken after ${how}:\n${out}`);
    } finally {
      killGroup(npm.pid);
    }
  });
}

test('pretty log lines: readable, and a hostile field cannot drive the terminal', () => {
  const line = prettyLine(
    JSON.stringify({
      level: 30,
      time: Date.UTC(2026, 0, 1, 12, 0, 1, 23),
      pid: 7,
      msg: 'request \u001b]0;owned\u0007',
      url: '/a\u001b[2Jb',
      status: 200,
      note: 'two words',
      c1: '\u009b31m',
    }),
    false,
  );
  assert.match(line, /^\d\d:\d\d:\d\d\.023 INFO {2}request /);
  assert.match(line, /status=200 note="two words"/);
  assert.doesNotMatch(
    line,
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for.
    /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/,
    'no control character but the newline',
  );
  assert.ok(line.endsWith('\n'));
  assert.doesNotMatch(line, /pid=/);
  assert.equal(prettyLine('not json\n', false), 'not json\n');
});
