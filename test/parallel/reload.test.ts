import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { killAll, loadLoop, type Primary, sleep, startPrimary } from '../fixtures/supervisor.ts';

after(killAll);

function readyPids(primary: Primary, fromLine = 0): Set<number> {
  return new Set(
    primary.lines
      .slice(fromLine)
      .filter((l) => l.msg === 'supervisor: worker ready')
      .map((l) => l.workerPid as number),
  );
}

for (const mode of ['reusePort', 'cluster'] as const) {
  test(`SIGHUP (${mode}): rolling reload under continuous load, 0 failed requests, every worker replaced`, async () => {
    const primary = await startPrimary(['--workers', '2', '--worker-mode', mode, '--graceful-timeout', '5']);
    const before = readyPids(primary);
    assert.equal(before.size, 2);
    const load = loadLoop(primary.url, { connections: 8, maxMs: 25_000 });
    await sleep(300);
    const mark = primary.lines.length;
    primary.signal('SIGHUP');
    await primary.waitForLine((l) => l.msg === 'supervisor: rolling reload finished', 20_000, 'the reload');
    // Load keeps running on the new workers for a moment.
    await sleep(300);
    const result = await load.stop();
    const after = readyPids(primary, mark);
    assert.equal(after.size, 2, 'two new workers');
    for (const pid of before) assert.ok(!after.has(pid), `old worker ${pid} is gone`);
    const servedBy = new Set([...result.pids].map(Number));
    for (const pid of after) assert.ok(servedBy.has(pid), `new worker ${pid} answered`);
    assert.ok(result.ok > 100, `the load ran (${result.ok} requests)`);
    assert.deepEqual(
      { non2xx: result.non2xx, errors: result.errors, codes: [...new Set(result.errorCodes)] },
      { non2xx: 0, errors: 0, codes: [] },
      `failures during the reload (${result.ok} ok)`,
    );
    primary.signal('SIGTERM');
    assert.deepEqual(await primary.exited, { code: 0, signal: null });
  });
}

test('max-requests with jitter: workers are recycled under load without a failed request', async () => {
  const primary = await startPrimary([
    '--workers',
    '2',
    '--max-requests',
    '300',
    '--max-requests-jitter',
    '100',
  ]);
  const load = loadLoop(primary.url, { connections: 8, maxRequests: 4000, maxMs: 25_000 });
  const result = await load.done;
  await sleep(200);
  const recycled = primary.lines.filter((l) => l.msg === 'supervisor: worker reached maxRequests');
  assert.ok(recycled.length >= 2, `workers were recycled (${recycled.length})`);
  for (const l of recycled) {
    const served = l.served as number;
    assert.ok(served >= 300 && served <= 400, `recycled within maxRequests + jitter (${served})`);
  }
  assert.equal(result.ok, 4000);
  assert.deepEqual({ non2xx: result.non2xx, errors: result.errors }, { non2xx: 0, errors: 0 });
  assert.ok(result.pids.size >= 3, `requests reached replacements too (${result.pids.size} pids)`);
  primary.signal('SIGTERM');
  assert.equal((await primary.exited).code, 0);
});

test('a burst of SIGHUPs: one reload runs, the rest join the next one; still 0 failures, still 2 workers', async () => {
  const primary = await startPrimary(['--workers', '2', '--graceful-timeout', '5']);
  const load = loadLoop(primary.url, { connections: 8, maxMs: 25_000 });
  await sleep(200);
  for (let i = 0; i < 5; i++) {
    primary.signal('SIGHUP');
    await sleep(10);
  }
  const finished = (): number =>
    primary.lines.filter((l) => l.msg === 'supervisor: rolling reload finished').length;
  await primary.waitForLine(() => finished() === 2, 20_000, 'two reloads');
  await sleep(1000);
  const result = await load.stop();
  assert.equal(finished(), 2, 'five signals, two reloads');
  const ready = primary.lines.filter((l) => l.msg === 'supervisor: worker ready').length;
  const exited = primary.lines.filter(
    (l) => typeof l.msg === 'string' && l.msg.startsWith('supervisor: worker exited'),
  ).length;
  assert.equal(ready - exited, 2, 'two workers at the end');
  assert.equal(ready, 6, 'each reload replaced both workers');
  assert.deepEqual({ non2xx: result.non2xx, errors: result.errors }, { non2xx: 0, errors: 0 });
  primary.signal('SIGTERM');
  assert.equal((await primary.exited).code, 0);
});
