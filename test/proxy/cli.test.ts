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

test('the config file takes proxy groups and routes, and names what is wrong in them', async () => {
  const { validate } = await import('../../src/cli/config-rules.ts');
  const { CONFIG_SCHEMA } = await import('../../src/cli/config-schema.ts');
  const issues = (config: unknown): string[] =>
    validate(config, CONFIG_SCHEMA, { baseDir: '/tmp', dataOnly: true }).issues.map(
      (i) => `${i.path}: ${i.message}`,
    );
  assert.deepEqual(
    issues({
      proxy: {
        groups: [
          {
            name: 'api',
            upstreams: ['http://10.0.0.1:8080', { url: 'http://10.0.0.2:8080', weight: 2 }],
            balance: 'weighted',
          },
          {
            name: 'sticky',
            upstreams: ['http://10.0.0.3:8080'],
            balance: { hash: 'cookie', name: 'sid' },
            retry: false,
          },
        ],
        routes: [
          { path: '/api', to: 'api', stripPath: true },
          { host: '*.example.com', to: 'sticky' },
        ],
        headersTimeout: 30_000,
        host: 'upstream',
        via: false,
      },
    }),
    [],
  );
  const bad = issues({
    proxy: {
      groups: [{ name: 'api', upstreams: ['ftp://x'] }],
      routes: [{ path: 'api', to: 'api', nope: 1 }],
      host: 'other',
    },
  });
  assert.ok(
    bad.some((i) => i.startsWith('proxy.groups[0].upstreams[0]')),
    bad.join('\n'),
  );
  assert.ok(
    bad.some((i) => i.startsWith('proxy.routes[0].path')),
    bad.join('\n'),
  );
  assert.ok(
    bad.some((i) => i.startsWith('proxy.routes[0].nope')),
    bad.join('\n'),
  );
  assert.ok(
    bad.some((i) => i.startsWith('proxy.host')),
    bad.join('\n'),
  );
});
