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
    // Load keeps running on the new workers for a moment (until each has answered, at most 3 s).
    const after = readyPids(primary, mark);
    const answered = (): boolean => [...after].every((pid) => load.result.pids.has(String(pid)));
    for (let waited = 0; waited < 3000 && !answered(); waited += 50) await sleep(50);
    await sleep(100);
    const result = await load.stop();
    assert.equal(after.size, 2, 'two new workers');
    for (const pid of before) assert.ok(!after.has(pid), `old worker ${pid} is gone`);
    const servedBy = new Set([...result.pids].map(Number));
    // cluster: the primary deals connections in turn, so both new workers must have answered.
    // reusePort: the kernel hashes each reconnecting keep-alive socket, and all of a drained
    // worker's few sockets can land on one replacement: one new worker answering is the claim.
    const newAnswered = [...after].filter((pid) => servedBy.has(pid)).length;
    assert.ok(newAnswered >= (mode === 'cluster' ? 2 : 1), `new workers answered (${newAnswered} of 2)`);
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

// The hardest case for a reload: every request is a new connection, so connections are being
// accepted (and, in cluster mode, handed from the primary to a worker) at every instant of the
// drain. A hand-off to a worker that has just exited once left a request unanswered (TIMEOUT).
test('SIGHUP (cluster): three reloads with a new connection per request, 0 failed or unanswered', async () => {
  const primary = await startPrimary([
    '--workers',
    '2',
    '--worker-mode',
    'cluster',
    '--graceful-timeout',
    '5',
  ]);
  const load = loadLoop(primary.url, { connections: 16, maxMs: 40_000, fresh: true, timeoutMs: 5000 });
  await sleep(300);
  const finished = (): number =>
    primary.lines.filter((l) => l.msg === 'supervisor: rolling reload finished').length;
  for (let i = 1; i <= 3; i++) {
    primary.signal('SIGHUP');
    await primary.waitForLine(() => finished() === i, 20_000, `reload ${i}`);
    await sleep(300);
  }
  const result = await load.stop();
  assert.ok(result.ok > 300, `the load ran (${result.ok} requests)`);
  assert.ok(result.pids.size >= 6, `three generations of two workers answered (${result.pids.size} pids)`);
  assert.deepEqual(
    { non2xx: result.non2xx, errors: result.errors, codes: [...new Set(result.errorCodes)] },
    { non2xx: 0, errors: 0, codes: [] },
    `failures during the reloads (${result.ok} ok)`,
  );
  primary.signal('SIGTERM');
  assert.deepEqual(await primary.exited, { code: 0, signal: null });
});

test('max-requests with jitter: workers are recycled under load without a failed request', async () => {
  const primary = await startPrimary([
    '--workers',
    '2',
    '--max-requests',
    '100',
    '--max-requests-jitter',
    '50',
  ]);
  // Until two replacements have answered (or 20 s): a fixed request count can finish before a
  // replacement has even started when the machine is fast.
  const load = loadLoop(primary.url, { connections: 8, maxMs: 20_000 });
  for (let waited = 0; waited < 20_000 && load.result.pids.size < 4; waited += 50) await sleep(50);
  const result = await load.stop();
  await sleep(200);
  const recycled = primary.lines.filter((l) => l.msg === 'supervisor: worker reached maxRequests');
  assert.ok(recycled.length >= 2, `workers were recycled (${recycled.length})`);
  for (const l of recycled) {
    const served = l.served as number;
    assert.ok(served >= 100 && served <= 150, `recycled within maxRequests + jitter (${served})`);
  }
  assert.ok(result.ok > 300, `the load ran (${result.ok} requests)`);
  assert.deepEqual({ non2xx: result.non2xx, errors: result.errors }, { non2xx: 0, errors: 0 });
  assert.ok(result.pids.size >= 4, `requests reached two replacements too (${result.pids.size} pids)`);
  primary.signal('SIGTERM');
  const exit = await primary.exited;
  assert.equal(
    exit.code,
    0,
    `the primary's exit (${exit.code ?? exit.signal}); stderr: ${primary.stderr()}; last log lines: ${JSON.stringify(primary.lines.slice(-8))}`,
  );
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
