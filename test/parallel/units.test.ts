import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseServeFlags, SERVE_USAGE } from '../../src/cli/serve-command.ts';
import { WORKER_FLAGS } from '../../src/cli/serve-workers.ts';
import { createLogger } from '../../src/observe/index.ts';
import { RestartBackoff } from '../../src/parallel/backoff.ts';
import { SUPERVISOR_DEFAULTS, Supervisor } from '../../src/parallel/index.ts';
import { isSupervisorMessage } from '../../src/parallel/ipc.ts';
import { defaultMode } from '../../src/parallel/options.ts';
import { ROOT } from '../fixtures/supervisor.ts';

test('backoff doubles per crash in a row, caps, and a stable worker ends the streak', () => {
  const b = new RestartBackoff(100, 1000, 10_000);
  assert.deepEqual(
    [0, 0, 0, 0, 0, 0].map((up) => b.next(up)),
    [100, 200, 400, 800, 1000, 1000],
  );
  assert.equal(b.next(10_000), 100, 'a worker that ran 10 s restarts at the first delay');
  assert.equal(b.next(50), 200);
});

const flagCases: { args: string[]; error?: RegExp; workers?: number | 'auto' }[] = [
  { args: ['a.ts'], workers: undefined as never },
  { args: ['a.ts', '--workers', '4'], workers: 4 },
  { args: ['a.ts', '--workers', 'auto'], workers: 'auto' },
  { args: ['a.ts', '--workers', '0'], error: /--workers must be a number from 1 to 1024 or "auto", got "0"/ },
  { args: ['a.ts', '--workers', '-1'], error: /--workers/ },
  { args: ['a.ts', '--workers', '2.5'], error: /--workers/ },
  { args: ['a.ts', '--workers', '99999'], error: /--workers/ },
  { args: ['a.ts', '--workers', 'many'], error: /--workers/ },
  {
    args: ['a.ts', '--workers', '2', '--worker-mode', 'fork'],
    error: /--worker-mode must be "reusePort" or "cluster"/,
  },
  {
    args: ['a.ts', '--workers', '2', '--max-requests', '1e3'],
    error: /--max-requests must be a non-negative integer/,
  },
  { args: ['a.ts', '--workers', '2', '--worker-timeout', '-5'], error: /--worker-timeout/ },
  {
    args: ['a.ts', '--max-requests', '100'],
    error: /--max-requests applies to supervised workers: add --workers/,
  },
  { args: ['a.ts', '--worker-mode', 'cluster'], error: /--worker-mode applies to supervised workers/ },
];
for (const c of flagCases) {
  test(`strata serve ${c.args.join(' ')} → ${c.error ? 'usage error' : `workers ${c.workers}`}`, () => {
    if (c.error !== undefined) {
      assert.throws(
        () => parseServeFlags(c.args, {}),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'STRATA_ERR_CLI_USAGE');
          assert.match(err.message, c.error!);
          return true;
        },
      );
      return;
    }
    const flags = parseServeFlags(c.args, {});
    assert.notEqual(flags, 'help');
    if (flags !== 'help') assert.equal(flags.parallel.workers, c.workers);
  });
}

test('the supervisor flags reach their settings', () => {
  const flags = parseServeFlags(
    [
      'a.ts',
      '--workers',
      '2',
      '--worker-timeout',
      '7',
      '--max-requests',
      '10',
      '--max-requests-jitter',
      '3',
      '--graceful-timeout',
      '4',
    ],
    {},
  );
  assert.ok(flags !== 'help');
  assert.deepEqual(flags.parallel.settings, {
    workerTimeout: 7,
    maxRequests: 10,
    maxRequestsJitter: 3,
    gracefulTimeout: 4,
  });
});

test('docs/cli.md and docs/parallel.md list every supervisor flag with the default the code uses', () => {
  for (const doc of ['cli.md', 'parallel.md']) {
    const text = readFileSync(join(ROOT, 'docs', doc), 'utf8');
    for (const f of WORKER_FLAGS) {
      const row = new RegExp(
        `^\\|\\s*\`--${f.flag}\`\\s*\\|\\s*\`${SUPERVISOR_DEFAULTS[f.key]}\`\\s*\\|`,
        'm',
      );
      assert.match(text, row, `${doc} documents --${f.flag} with default ${SUPERVISOR_DEFAULTS[f.key]}`);
    }
    assert.match(text, /^\|\s*`--workers`\s*\|/m, `${doc} documents --workers`);
  }
});

test("only strata:… messages are the supervisor's; a user's own IPC traffic is not", () => {
  const cases: [unknown, boolean][] = [
    [{ type: 'strata:ready', port: 1 }, true],
    [{ type: 'strata:msg', name: 'x', payload: 1 }, true],
    [{ type: 'ready' }, false],
    [{ cmd: 'NODE_CLUSTER' }, false],
    ['strata:ready', false],
    [null, false],
    [{ type: 42 }, false],
  ];
  for (const [message, ours] of cases)
    assert.equal(isSupervisorMessage(message), ours, JSON.stringify(message));
});

test('the default mode is the one that reloads without loss: reusePort only where Linux migrates queued connections', () => {
  assert.equal(
    defaultMode('linux', () => true),
    'reusePort',
  );
  assert.equal(
    defaultMode('linux', () => false),
    'cluster',
  );
  assert.equal(
    defaultMode('darwin', () => true),
    'cluster',
  );
  assert.equal(
    defaultMode('win32', () => false),
    'cluster',
  );
});

test('strata serve --help lists every supervisor flag with its default', () => {
  for (const f of WORKER_FLAGS) {
    const line = SERVE_USAGE.split('\n').find((l) => l.includes(`--${f.flag} <n>`));
    assert.ok(line !== undefined, `--${f.flag} is in the usage`);
    assert.match(line, new RegExp(`\\(default: ${SUPERVISOR_DEFAULTS[f.key]}( s)?\\)$`));
  }
});

test('--workers auto means one worker per core (os.availableParallelism())', () => {
  const supervisor = new Supervisor({
    exec: 'unused.ts',
    workers: 'auto',
    port: 0,
    logger: createLogger({ level: 'silent' }),
  });
  assert.equal(supervisor.target, availableParallelism());
  assert.throws(
    () => new Supervisor({ exec: 'x', workers: 0, port: 0, logger: createLogger({ level: 'silent' }) }),
    /workers must be a positive integer/,
  );
  assert.throws(
    () =>
      new Supervisor({
        exec: 'x',
        workers: 1,
        port: 0,
        maxRequests: -1,
        logger: createLogger({ level: 'silent' }),
      }),
    /option maxRequests must be a non-negative integer/,
  );
});
