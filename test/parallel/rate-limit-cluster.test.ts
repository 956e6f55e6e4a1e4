import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { getRaw } from '../fixtures/http.ts';
import { killAll, ROOT, startPrimary } from '../fixtures/supervisor.ts';

after(killAll);

const APP = join(ROOT, 'test', 'fixtures', 'apps', 'rate-limit-cluster.ts');

test('--workers 2: the ClusterRateLimitStore spends one budget for both workers', async () => {
  const primary = await startPrimary(['--workers', '2', '--worker-mode', 'cluster'], APP);
  try {
    const pids = new Set<string>();
    const statuses: number[] = [];
    // A fresh connection each: the primary hands them to the workers in turn.
    for (let i = 0; i < 16; i++) {
      const res = await getRaw(primary.url);
      statuses.push(res.status);
      pids.add(String(res.headers['x-pid']));
    }
    assert.ok(pids.size === 2, `requests reached both workers (${[...pids].join(', ')})`);
    assert.equal(statuses.filter((s) => s === 200).length, 6, statuses.join(' '));
    assert.equal(statuses.filter((s) => s === 429).length, 10);
  } finally {
    primary.signal('SIGTERM');
    await primary.exited;
  }
});
