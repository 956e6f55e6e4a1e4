import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { killAll, pidOf, ROOT, sleep, spawnPrimary, startPrimary } from '../fixtures/supervisor.ts';

after(killAll);

test('a crashed worker is replaced, with a delay that doubles while it keeps crashing', async () => {
  const primary = await startPrimary(['--workers', '1']);
  for (let i = 0; i < 4; i++) {
    const mark = primary.lines.length;
    await fetch(`${primary.url}/crash`).catch(() => {});
    await primary.waitForLine(
      (l) => primary.lines.indexOf(l) >= mark && l.msg === 'supervisor: worker exited (exit code 3)',
      10_000,
      'the crash',
    );
    await primary.waitForLine(
      (l) => primary.lines.indexOf(l) >= mark && l.msg === 'supervisor: worker ready',
      15_000,
      'the replacement',
    );
  }
  const backoffs = primary.lines.filter((l) => l.msg === 'supervisor: restarting a worker after backoff');
  assert.deepEqual(
    backoffs.map((l) => l.delayMs),
    [100, 200, 400, 800],
    'exponential backoff',
  );
  // Each replacement started no sooner than its delay after the crash was handled.
  for (const b of backoffs) {
    const after = primary.lines.slice(primary.lines.indexOf(b));
    const started = after.find((l) => l.msg === 'supervisor: worker started')!;
    assert.ok(started.time! - b.time! >= (b.delayMs as number) - 2, `waited ${b.delayMs} ms`);
  }
  assert.match(await pidOf(primary.url), /^\d+$/, 'the last replacement serves');
  primary.signal('SIGTERM');
  assert.equal((await primary.exited).code, 0);
});

test('workers that fail at startup again and again stop the server with a clear error, exit 1', async () => {
  const primary = spawnPrimary([
    join(ROOT, 'test', 'fixtures', 'apps', 'throws-on-load.ts'),
    '--port',
    '0',
    '--workers',
    '2',
  ]);
  const exit = await primary.exited;
  assert.equal(exit.code, 1);
  assert.match(primary.stderr(), /boom while loading/, "the workers' own error is shown");
  assert.match(
    primary.stderr(),
    /strata: 5 workers in a row exited before they were ready \(the last with exit code 1\).*\[STRATA_ERR_WORKER_STARTUP\]/,
  );
  const attempts = primary.lines.filter((l) => l.msg === 'supervisor: worker started').length;
  assert.ok(attempts >= 5 && attempts <= 6, `stopped after 5 failures, not a loop (${attempts} attempts)`);
});

test('a server that ran fine stops with the same error when its replacements can no longer start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-supervisor-'));
  const flag = join(dir, 'fail');
  try {
    const primary = await startPrimary(['--workers', '1'], undefined, { PARALLEL_APP_FAIL_IF_EXISTS: flag });
    writeFileSync(flag, '');
    await fetch(`${primary.url}/crash`).catch(() => {});
    const exit = await primary.exited;
    assert.equal(exit.code, 1);
    assert.match(primary.stderr(), /startup failed on purpose/);
    assert.match(
      primary.stderr(),
      /5 workers in a row exited before they were ready.*\[STRATA_ERR_WORKER_STARTUP\]/,
    );
    assert.doesNotMatch(primary.stderr(), /Unhandled|triggerUncaughtException/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('watchdog: a worker whose event loop stays blocked is killed and replaced, and the log names the request', async () => {
  const primary = await startPrimary(['--workers', '1', '--worker-timeout', '2']);
  const blocked = await pidOf(primary.url);
  // A long target: the report keeps its first 256 bytes and nothing overflows.
  void fetch(`${primary.url}/block?who=test&pad=${'x'.repeat(2000)}`).catch(() => {});
  const report = await primary.waitForLine(
    (l) => typeof l.msg === 'string' && l.msg.startsWith('watchdog:'),
    10_000,
  );
  assert.match(report.request as string, /^GET \/block\?who=test&pad=x+$/);
  assert.equal((report.request as string).length, 256);
  assert.equal(String(report.pid), blocked);
  assert.ok((report.blockedMs as number) > 2000);
  await primary.waitForLine((l) => l.msg === 'supervisor: worker exited (signal SIGKILL)', 5000);
  await primary.waitForLine(
    (l) => l.msg === 'supervisor: worker ready' && String(l.workerPid) !== blocked,
    10_000,
  );
  const fresh = await pidOf(primary.url);
  assert.notEqual(fresh, blocked, 'a new worker serves');
  // Ordinary slow requests do not trip it.
  assert.equal((await fetch(`${primary.url}/slow?ms=2500`)).status, 200);
  await sleep(100);
  assert.equal(
    primary.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('watchdog:')).length,
    1,
  );
  primary.signal('SIGTERM');
  assert.equal((await primary.exited).code, 0);
});
