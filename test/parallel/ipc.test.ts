import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createLogger } from '../../src/observe/index.ts';
import { Supervisor, workerChannel } from '../../src/parallel/index.ts';
import { ROOT } from '../fixtures/supervisor.ts';

const supervisor = new Supervisor({
  exec: join(ROOT, 'test', 'fixtures', 'parallel', 'ipc-worker.ts'),
  workers: 3,
  port: 0,
  logger: createLogger({ level: 'silent' }),
  gracefulTimeout: 2,
});

before(() => supervisor.start());
after(async () => {
  await supervisor.close();
  for (const w of supervisor.workers()) process.kill(w.pid, 'SIGKILL');
});

test('workerChannel() is undefined outside a supervised worker', () => {
  assert.equal(workerChannel(), undefined);
});

test('collect() asks every ready worker and resolves with their answers', async () => {
  const answers = (await supervisor.collect('whoami', { q: 1 })) as {
    pid: number;
    workerId: number;
    echo: unknown;
  }[];
  assert.equal(answers.length, 3);
  assert.deepEqual(
    answers.map((a) => a.pid).sort(),
    supervisor
      .workers()
      .map((w) => w.pid)
      .sort(),
  );
  for (const a of answers) assert.deepEqual(a.echo, { q: 1 });
  const values = (await supervisor.collect('async', null)) as number[];
  assert.deepEqual(
    values.sort(),
    supervisor
      .workers()
      .map((w) => w.id * 10)
      .sort(),
  );
});

test('collect() leaves out workers that time out, throw, or have no handler', async () => {
  assert.deepEqual(await supervisor.collect('never', null, { timeoutMs: 100 }), []);
  assert.deepEqual(await supervisor.collect('fails', null), []);
  assert.deepEqual(await supervisor.collect('nobody-handles-this', null), []);
});

test('broadcast() reaches every worker but the one excepted, and on() hears their send()', async () => {
  const heard: { workerId: number; from: number; payload: unknown }[] = [];
  const except = supervisor.workers()[0]!.id;
  const got = new Promise<void>((resolve) => {
    supervisor.on('noted', (payload, from) => {
      heard.push({ ...(payload as { workerId: number; payload: unknown }), from });
      if (heard.length === 2) resolve();
    });
  });
  supervisor.broadcast('note', 'hello', except);
  await got;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(heard.length, 2, 'the excepted worker got nothing');
  for (const h of heard) {
    assert.notEqual(h.workerId, except);
    assert.equal(h.from, h.workerId, 'on() names the sender');
    assert.equal(h.payload, 'hello');
  }
});

test('collect() tolerates a worker that dies mid-ask', async () => {
  const victim = supervisor.workers()[0]!;
  const pending = supervisor.collect('never', null, { timeoutMs: 1500 });
  const t0 = Date.now();
  process.kill(victim.pid, 'SIGKILL');
  // The others never answer 'never' either, so this resolves at the timeout; the dead one must
  // not make it reject.
  assert.deepEqual(await pending, []);
  assert.ok(Date.now() - t0 < 3000);
  const after = (await supervisor.collect('whoami', null)) as { pid: number }[];
  assert.ok(!after.some((a) => a.pid === victim.pid));
  assert.ok(after.length >= 2);
});

test('malformed strata messages from a worker are ignored, and the channel keeps working', async () => {
  const answers = await supervisor.collect('misbehave', null);
  assert.ok(answers.length >= 2 && answers.every((a) => a === 'done'));
  const after = (await supervisor.collect('whoami', null)) as { pid: number }[];
  assert.equal(after.length, answers.length);
});
