import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { threadId } from 'node:worker_threads';
import { App } from '../../src/app/index.ts';
import { Metrics } from '../../src/observe/metrics.ts';
import { PoolError, ThreadPool } from '../../src/parallel/index.ts';

const TASKS = new URL('../fixtures/tasks/cpu.ts', import.meta.url);

describe('ThreadPool', () => {
  const pool = new ThreadPool({ maxThreads: 2, maxQueue: 2, name: 'test' });
  after(() => pool.close());

  test('runs the default export on another thread and returns its result', async () => {
    const out = await pool.run<{ sum: number; threadId: number }>(TASKS, { n: 1000 });
    assert.equal(out.sum, (999 * 1000) / 2);
    assert.notEqual(out.threadId, threadId, 'ran off the main thread');
  });

  test('runs a named export, from a path or a URL', async () => {
    assert.equal(await pool.run(TASKS.pathname, { ms: 1 }, { name: 'spin' }).then((n) => typeof n), 'number');
  });

  test('a relative path is refused with a message that says what to pass', () => {
    assert.throws(() => pool.run('./cpu.ts', {}), /absolute path or a URL/);
  });

  test('the task error reaches the caller', async () => {
    await assert.rejects(pool.run(TASKS, { message: 'boom in task' }, { name: 'fails' }), /boom in task/);
  });

  test('transferred buffers move (the sender is left with a detached buffer)', async () => {
    const buffer = new Uint8Array([1, 2, 3, 4]).buffer;
    const sum = await pool.run(TASKS, buffer, { name: 'byteSum', transfer: [buffer] });
    assert.equal(sum, 10);
    assert.equal(buffer.byteLength, 0, 'detached after transfer');
  });

  test('a full queue rejects with a 503 PoolError carrying Retry-After', async () => {
    // 2 threads busy + 2 queued; the fifth is over the limit.
    const running = Array.from({ length: 4 }, () => pool.run(TASKS, { ms: 300 }, { name: 'spin' }));
    const err = await pool.run(TASKS, { ms: 1 }, { name: 'spin' }).then(
      () => assert.fail('expected the queue to be full'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof PoolError);
    assert.equal(err.code, 'STRATA_ERR_POOL_QUEUE_FULL');
    assert.equal(err.status, 503);
    assert.equal(err.headers['retry-after'], '1');
    await Promise.all(running);
  });

  test('an abort drops a queued task and ends a running one', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const running = pool.run(TASKS, { ms: 20_000 }, { name: 'spin', signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(running, { name: 'AbortError' });
    assert.ok(Date.now() - started < 15_000, 'the spinning thread was ended, not waited for');
    // The pool still works afterwards.
    assert.equal((await pool.run<{ sum: number }>(TASKS, { n: 10 })).sum, 45);
  });

  test('an already-aborted signal never runs the task', async () => {
    await assert.rejects(pool.run(TASKS, { n: 1 }, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  });

  test('stats report threads and queue', () => {
    const stats = pool.stats;
    assert.equal(stats.maxThreads, 2);
    assert.equal(stats.maxQueue, 2);
    assert.ok(stats.completed >= 3);
  });

  test('bad options are refused by name', () => {
    for (const [options, name] of [
      [{ maxThreads: 0 }, 'maxThreads'],
      [{ maxQueue: -1 }, 'maxQueue'],
      [{ idleTimeout: 1.5 }, 'idleTimeout'],
    ] as const) {
      assert.throws(() => new ThreadPool(options), new RegExp(`option ${name}`));
    }
  });

  test('the default size divides the cores among the supervisor’s workers', async () => {
    const before = process.env.STRATA_WORKERS;
    process.env.STRATA_WORKERS = '64';
    try {
      const small = new ThreadPool();
      assert.equal(small.stats.maxThreads, 1, 'never below one thread');
      await small.close();
    } finally {
      if (before === undefined) delete process.env.STRATA_WORKERS;
      else process.env.STRATA_WORKERS = before;
    }
  });

  test('a closed pool refuses new work with STRATA_ERR_POOL_CLOSED', async () => {
    const p = new ThreadPool({ maxThreads: 1 });
    await p.close();
    await assert.rejects(p.run(TASKS, { n: 1 }), { code: 'STRATA_ERR_POOL_CLOSED', status: 503 });
  });

  test('pools appear in the metrics', async () => {
    const text = await new Metrics({ defaultMetrics: false }).text();
    assert.match(text, /strata_pool_threads\{pool="test"\} \d/);
    assert.match(text, /strata_pool_tasks_completed\{pool="test"\} \d/);
  });
});

describe('ThreadPool in an app', () => {
  const pool = new ThreadPool({ maxThreads: 1, maxQueue: 0 });
  after(() => pool.close());
  const app = new App();
  app.get('/sum/:n', async (c) =>
    c.json(await pool.run(TASKS, { n: Number(c.params.n) }, { signal: c.req.signal })),
  );

  test('a handler awaits the pool', async () => {
    const res = await app.request('/sum/10');
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { sum: number }).sum, 45);
  });

  test('a full queue becomes 503 problem+json with Retry-After, not a 500', async () => {
    const busy = pool.run(TASKS, { ms: 300 }, { name: 'spin' });
    const res = await app.request('/sum/10');
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    await busy;
  });
});
