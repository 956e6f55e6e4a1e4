import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseServeFlags, serveOptionsOf } from '../../src/cli/serve-command.ts';
import { startCli, stopCli } from '../fixtures/cli.ts';
import { startUpstream } from './fixtures.ts';

test('strata serve --upstream with no module is a pure proxy', async () => {
  const a = await startUpstream();
  const b = await startUpstream();
  const cli = await startCli(['--upstream', `${a.url},${b.url}`]);
  try {
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${cli.url}/anything/${i}?q=1`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { url: string }).url, `/anything/${i}?q=1`);
    }
    assert.equal(a.seen.length, 2, 'round robin');
    assert.equal(b.seen.length, 2, 'round robin');
  } finally {
    assert.equal(await stopCli(cli.child), 0);
    await a.close();
    await b.close();
  }
});

test('--upstream: checked URLs, no module beside it, and the proxy option it makes', () => {
  const flags = parseServeFlags(['--upstream', 'http://127.0.0.1:8080,http://127.0.0.1:8081'], {});
  assert.ok(flags !== 'help');
  assert.equal(flags.module, '');
  assert.deepEqual(serveOptionsOf(flags).proxy, {
    groups: [{ name: 'upstream', upstreams: ['http://127.0.0.1:8080', 'http://127.0.0.1:8081'] }],
    routes: [{ path: '/', to: 'upstream' }],
  });
  assert.throws(() => parseServeFlags(['app.ts', '--upstream', 'http://127.0.0.1:8080'], {}), /pure proxy/);
  assert.throws(() => parseServeFlags(['--upstream', 'ftp://x'], {}), /http:\/\//);
  assert.throws(() => parseServeFlags(['--upstream', 'nope'], {}), /not a URL/);
});
