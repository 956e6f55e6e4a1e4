import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseServeFlags } from '../../src/cli/serve-command.ts';
import { ROOT, runCli, startCli, stopCli } from '../fixtures/cli.ts';
import { freePort } from '../fixtures/ports.ts';
import { seriesValue } from '../fixtures/prometheus.ts';

const APP = join(ROOT, 'test', 'fixtures', 'apps', 'fetch-app.ts');

describe('strata serve flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-flags-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--static serves the directory before the app', async () => {
    writeFileSync(join(dir, 'hello.txt'), 'static hello');
    const { child, url } = await startCli([APP, '--static', dir]);
    try {
      const file = await fetch(`${url}/hello.txt`);
      assert.equal(await file.text(), 'static hello');
      assert.ok(file.headers.get('etag'));
      assert.equal(await (await fetch(`${url}/hello`)).text(), '{"kind":"app","path":"/hello"}');
    } finally {
      assert.equal(await stopCli(child), 0);
    }
  });

  test('--admin serves /metrics on its own port, with the requests of the public one', async () => {
    const port = await freePort();
    const { child, url } = await startCli([APP, '--admin', `127.0.0.1:${port}`]);
    try {
      await fetch(`${url}/hello`);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.ok(
        (seriesValue(text, 'strata_http_requests_total{method="GET",route="",status="200"}') ?? 0) >= 1,
      );
      assert.equal(
        (await fetch(`${url}/metrics`)).status,
        200,
        'the public port is the app’s, not the admin',
      );
    } finally {
      assert.equal(await stopCli(child), 0);
    }
  });

  test('--trust-proxy makes the forwarded client address believed', async () => {
    const { child, url } = await startCli([
      join(ROOT, 'test', 'fixtures', 'apps', 'client-echo.ts'),
      '--trust-proxy',
      'loopback',
    ]);
    try {
      const res = await fetch(url, {
        headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' },
      });
      assert.deepEqual(await res.json(), { client: '203.0.113.9', secure: true });
    } finally {
      assert.equal(await stopCli(child), 0);
    }
  });

  const usage: [string[], RegExp][] = [
    [['--admin', 'nope'], /--admin must be host:port or a port/],
    [['--admin', 'x:70000'], /--admin must be/],
    [['--max-event-loop-delay', '0'], /--max-event-loop-delay must be a whole number/],
    [['--max-event-loop-delay', '1e3'], /--max-event-loop-delay must be a whole number/],
    [['--trust-proxy', 'nope'], /--trust-proxy: Not an IP address or CIDR range: "nope"/],
    [['--trust-proxy', '10.0.0.1,,loopback'], /--trust-proxy has an empty entry/],
  ];
  for (const [args, message] of usage) {
    test(`usage error: ${args.join(' ')}`, async () => {
      const { code, stderr } = await runCli(['serve', APP, ...args]);
      assert.equal(code, 2);
      assert.match(stderr, message);
      assert.match(stderr, /STRATA_ERR_CLI_USAGE/);
    });
  }

  test('address forms of --admin and the --metrics default', () => {
    const flags = (args: string[]) => {
      const f = parseServeFlags([APP, ...args], {});
      assert.ok(f !== 'help');
      return f;
    };
    assert.deepEqual(flags(['--admin', '9200']).admin, { host: '127.0.0.1', port: 9200 });
    assert.deepEqual(flags(['--admin', '0.0.0.0:9200']).admin, { host: '0.0.0.0', port: 9200 });
    assert.deepEqual(flags(['--admin', '[::1]:9200']).admin, { host: '::1', port: 9200 });
    assert.deepEqual(flags(['--metrics']).admin, { host: '127.0.0.1', port: 9100 });
    assert.equal(flags([]).admin, undefined);
    assert.equal(flags(['--max-event-loop-delay', '250']).maxEventLoopDelay, 250);
    assert.deepEqual(flags(['--trust-proxy', '10.0.0.0/8, loopback']).trustProxy, ['10.0.0.0/8', 'loopback']);
    assert.deepEqual(flags([]).trustProxy, []);
  });
  test('HTTPS flags: --cert/--key, --https alone, --redirect-http, over the file', () => {
    const flags = (args: string[], values?: Record<string, unknown>) => {
      const f = parseServeFlags(
        [APP, ...args],
        {},
        values === undefined ? undefined : { path: '/x/strata.config.ts', values },
      );
      assert.ok(f !== 'help');
      return f.options.tls;
    };
    assert.equal(flags([]), undefined);
    assert.deepEqual(flags(['--https']), { selfSigned: true });
    assert.deepEqual(flags(['--cert', 'c.pem', '--key', 'k.pem', '--redirect-http', '8080']), {
      cert: join(process.cwd(), 'c.pem'),
      key: join(process.cwd(), 'k.pem'),
      redirectHttp: 8080,
    });
    // The flags' certificate replaces the file's, and keeps its other TLS settings.
    assert.deepEqual(
      flags(['--cert', '/c.pem', '--key', '/k.pem'], { tls: { certificates: [], hsts: true } }),
      {
        hsts: true,
        cert: '/c.pem',
        key: '/k.pem',
      },
    );
    assert.deepEqual(flags(['--https'], { tls: { cert: '/f.pem', key: '/g.pem' } }), {
      cert: '/f.pem',
      key: '/g.pem',
    });
    assert.throws(() => flags(['--cert', 'c.pem']), /--cert needs --key/);
    assert.throws(() => flags(['--key', 'k.pem']), /--key needs --cert/);
    assert.throws(() => flags(['--redirect-http', '80']), /add --cert and --key, or --https/);
    assert.throws(() => flags(['--https', '--redirect-http', '99999']), /--redirect-http must be a port/);
  });
});
