/**
 * `strata serve --workers 2` on modules exporting a Hono app, an Express app, a Koa app and a
 * Fastify instance (`fromFastify`): the supervisor starts two workers, each serves the framework
 * behind the edge, with static files, compression and the access log (JSON lines on stdout).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { ROWS } from '../../fixtures/apps/frameworks/rows.ts';
import { getRaw } from '../../fixtures/http.ts';
import { killAll, ROOT, startPrimary } from '../../fixtures/supervisor.ts';

const STATIC_TEXT = 'static, from a worker';
let dir: string;

describe('frameworks under strata serve --workers 2', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'strata-frameworks-workers-'));
    writeFileSync(join(dir, 'robots.txt'), STATIC_TEXT);
  });
  after(() => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const name of ['hono', 'express', 'koa', 'fastify']) {
    test(name, async () => {
      const app = join(ROOT, 'test', 'fixtures', 'apps', 'frameworks', `${name}.ts`);
      const primary = await startPrimary(
        ['--workers', '2', '--static', dir, '--compress', '--access-log', 'json'],
        app,
      );
      try {
        const ready = primary.lines.filter((l) => l.msg === 'supervisor: worker ready');
        assert.equal(ready.length, 2, 'two workers ready');
        const hello = await fetch(`${primary.url}/hello?mark=${name}`, { headers: { connection: 'close' } });
        assert.equal(hello.status, 200);
        const body = (await hello.json()) as { framework: string; pid: number };
        assert.equal(body.framework, name);
        assert.ok(
          ready.some((l) => l.workerPid === body.pid),
          `answered by a worker (${body.pid})`,
        );
        const file = await fetch(`${primary.url}/robots.txt`, { headers: { connection: 'close' } });
        assert.equal(await file.text(), STATIC_TEXT);
        const big = await getRaw(`${primary.url}/big`, { 'accept-encoding': 'gzip' });
        assert.equal(big.headers['content-encoding'], 'gzip');
        assert.deepEqual(JSON.parse(gunzipSync(big.body).toString()), ROWS);
        const line = await primary.waitForLine(
          (l) => l.url === `/hello?mark=${name}` && l.status === 200,
          5000,
          'the access log line of /hello',
        );
        assert.equal(line.method, 'GET');
      } finally {
        primary.signal('SIGTERM');
        await primary.exited;
      }
    });
  }
});
