import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { killAll, pidOf, ROOT, sleep, startPrimary } from '../fixtures/supervisor.ts';

after(killAll);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

test('--workers 3: three processes answer on one port, each ran startup once; SIGTERM drains all, exit 0', async () => {
  const primary = await startPrimary(['--workers', '3']);
  const workers = primary.lines.filter((l) => l.msg === 'supervisor: worker ready').map((l) => l.workerPid);
  assert.equal(new Set(workers).size, 3);
  const seen = new Set<string>();
  for (let i = 0; i < 300 && seen.size < 3; i++) seen.add(await pidOf(primary.url));
  assert.deepEqual([...seen].map(Number).sort(), [...workers].sort(), 'every worker answered');
  assert.ok(!seen.has(String(primary.pid)), 'the primary serves nothing itself');
  const startups = primary.lines.filter((l) => l.event === 'startup').map((l) => l.pid);
  assert.deepEqual([...startups].sort(), [...workers].sort(), 'startup ran once in every worker');

  // A request in flight when SIGTERM arrives is answered.
  const slow = fetch(`${primary.url}/slow?ms=400`).then((r) => r.status);
  await sleep(100);
  primary.signal('SIGTERM');
  assert.equal(await slow, 200);
  assert.deepEqual(await primary.exited, { code: 0, signal: null });
  const shutdowns = primary.lines.filter((l) => l.event === 'shutdown').map((l) => l.pid);
  assert.deepEqual([...shutdowns].sort(), [...workers].sort(), 'shutdown ran once in every worker');
  for (const pid of workers) assert.ok(!alive(pid as number), `worker ${pid} is gone`);
});

test('SIGTTIN adds a worker, SIGTTOU removes one (never the last)', async () => {
  const primary = await startPrimary(['--workers', '1']);
  const count = (): number =>
    primary.lines.filter((l) => l.msg === 'supervisor: worker ready').length -
    primary.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('supervisor: worker exited'))
      .length;
  assert.equal(count(), 1);
  primary.signal('SIGTTIN');
  await until(() => count() === 2, 10_000, 'a second worker');
  primary.signal('SIGTTIN');
  await until(() => count() === 3, 10_000, 'a third worker');
  primary.signal('SIGTTOU');
  await until(() => count() === 2, 10_000, 'back to two');
  primary.signal('SIGTTOU');
  await until(() => count() === 1, 10_000, 'back to one');
  primary.signal('SIGTTOU');
  await primary.waitForLine((l) => l.msg === 'supervisor: not removing the last worker', 5000);
  assert.equal(count(), 1);
  assert.match(await pidOf(primary.url), /^\d+$/);
  primary.signal('SIGINT');
  assert.equal((await primary.exited).code, 0);
});

for (const mode of ['cluster', 'reusePort']) {
  test(`a primary killed with SIGKILL leaves no orphan: its workers exit (${mode})`, async () => {
    const primary = await startPrimary(['--workers', '2', '--worker-mode', mode]);
    const workers = primary.lines
      .filter((l) => l.msg === 'supervisor: worker ready')
      .map((l) => l.workerPid as number);
    assert.equal(workers.length, 2);
    primary.signal('SIGKILL');
    await primary.exited;
    await until(() => workers.every((pid) => !alive(pid)), 10_000, 'the orphaned workers to exit');
  });
}

test('--graceful-timeout bounds the drain: a request that never ends is cut, and the primary still exits 0', async () => {
  const primary = await startPrimary(['--workers', '1', '--graceful-timeout', '1']);
  const stuck = fetch(`${primary.url}/slow?ms=60000`).then(
    (r) => r.status,
    () => 'cut',
  );
  await sleep(200);
  const t0 = Date.now();
  primary.signal('SIGTERM');
  assert.deepEqual(await primary.exited, { code: 0, signal: null });
  const took = Date.now() - t0;
  assert.ok(took < 8000, `the stop did not wait for the request (${took} ms)`);
  assert.equal(await stuck, 'cut');
});

test('examples/parallel/app.ts runs under the supervisor, one startup per worker', async () => {
  const primary = await startPrimary(['--workers', '2'], join(ROOT, 'examples', 'parallel', 'app.ts'));
  const body = (await (await fetch(primary.url)).json()) as { pid: number; worker: number | null };
  assert.ok(body.worker === 1 || body.worker === 2, 'the worker knows its id');
  assert.equal(primary.lines.filter((l) => l.event === 'startup').length, 2);
  primary.signal('SIGTERM');
  assert.equal((await primary.exited).code, 0);
  assert.equal(primary.lines.filter((l) => l.event === 'shutdown').length, 2);
});
