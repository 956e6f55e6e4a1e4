/**
 * `strata serve --workers 2` with `acme` in the config file, against pebble: the primary orders
 * once, every worker answers the challenge (whichever the CA reaches) and installs the
 * certificate it is sent; a restart reuses the stored one, in the primary and in every worker.
 * And the flags: --acme and its companions, checked before anything listens.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { parseServeFlags } from '../../src/cli/serve-command.ts';
import { type Pebble, pebbleAvailable, startPebble } from '../fixtures/pebble.ts';
import { freePort } from '../fixtures/ports.ts';
import { killAll, ROOT, spawnPrimary } from '../fixtures/supervisor.ts';

const APP = join(ROOT, 'test', 'fixtures', 'apps', 'fetch-app.ts');
const DOMAIN = 'workers.strata.localhost';
const available = pebbleAvailable();

/** The certificate the HTTPS listener presents for `servername`, and an answer over it. */
function httpsGet(port: number, servername: string, path: string): Promise<{ san: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const san = socket.getPeerCertificate().subjectaltname ?? '';
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`);
      let body = '';
      socket.on('data', (c) => (body += c));
      socket.on('end', () => resolve({ san, body }));
    });
    socket.on('error', reject);
  });
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('--acme flags', () => {
  const flags = (args: string[]) => {
    const f = parseServeFlags(['app.ts', ...args], {});
    assert.ok(f !== 'help');
    return f;
  };

  test('--acme names, --acme-email, --acme-staging, --acme-agree-tos', () => {
    assert.deepEqual(
      flags([
        '--acme',
        'Example.com, www.example.com',
        '--acme-email',
        'a@b.c',
        '--acme-staging',
        '--acme-agree-tos',
      ]).acme,
      { domains: ['example.com', 'www.example.com'], email: 'a@b.c', staging: true, agreeToTerms: true },
    );
    assert.equal(flags([]).acme, undefined);
  });

  const refused: [string[], RegExp][] = [
    [['--acme', '*.example.com'], /wildcard/],
    [['--acme', 'example.com,,b.com'], /is empty/],
    [['--acme', 'localhost'], /DNS name with a dot/],
    [['--acme', 'ex ample.com'], /DNS name/],
    [['--acme-email', 'a@b.c'], /--acme-email applies to --acme/],
    [['--acme', 'example.com', '--acme-email', 'nobody'], /email address/],
  ];
  for (const [args, message] of refused) {
    test(`refused: ${args.join(' ')}`, () => assert.throws(() => flags(args), message));
  }
});

test('--acme with --watch is refused before anything runs', async () => {
  const { runCli } = await import('../fixtures/cli.ts');
  const { code, stderr } = await runCli(['serve', APP, '--watch', '--acme', 'example.com', '--port', '0']);
  assert.equal(code, 2);
  assert.match(stderr, /--watch runs without ACME/);
});

test('--acme without --acme-agree-tos: a clear error, nothing listens', async () => {
  const { runCli } = await import('../fixtures/cli.ts');
  const { code, stderr } = await runCli(['serve', APP, '--acme', 'example.com', '--port', '0']);
  assert.notEqual(code, 0);
  assert.match(stderr, /terms of service must be agreed to.*STRATA_ERR_ACME_CONFIG/s);
});

describe('--workers with acme, against pebble', { skip: available === true ? false : available }, () => {
  let pebble: Pebble;
  let port: number;
  let httpPort: number;
  const dir = mkdtempSync(join(tmpdir(), 'strata-acme-cli-'));
  after(async () => {
    killAll();
    await pebble?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = () =>
    spawnPrimary([
      APP,
      '--config',
      join(dir, 'strata.config.json'),
      '--workers',
      '2',
      '--port',
      String(port),
      '--redirect-http',
      String(httpPort),
    ]);

  test('the primary orders once; both workers install the certificate; a restart orders nothing', async () => {
    port = await freePort();
    httpPort = await freePort();
    // HTTP-01 comes to the plain listener (port 80's part); the HTTPS one serves the result.
    pebble = await startPebble(httpPort);
    writeFileSync(join(dir, 'pebble-listener.pem'), pebble.listenerCa);
    writeFileSync(
      join(dir, 'strata.config.json'),
      JSON.stringify({
        acme: {
          domains: [DOMAIN],
          directoryUrl: pebble.directoryUrl,
          caFile: './pebble-listener.pem',
          storage: './acme',
          agreeToTerms: true,
        },
      }),
    );
    const primary = start();
    const issued = await primary.waitForLine(
      (l) => l.msg === 'acme: certificate issued',
      30_000,
      'the order',
    );
    assert.deepEqual(issued.domains, [DOMAIN]);
    await primary.waitForLine((l) => l.msg === 'acme: certificate sent to the workers');
    const installed = new Set<number>();
    for (let i = 0; i < 2; i++) {
      const line = await primary.waitForLine(
        (l) => l.msg?.startsWith('acme: certificate ready') === true && !installed.has(l.pid!),
        10_000,
        'a worker installing the certificate',
      );
      installed.add(line.pid!);
    }
    assert.equal(installed.size, 2, 'two workers installed it');
    assert.equal(primary.lines.filter((l) => l.msg === 'acme: certificate issued').length, 1);
    assert.ok(existsSync(join(dir, 'acme')), 'stored where the config file says, relative to it');
    // The challenge path is strata's (on the plain listener); the HTTPS listener presents the
    // certificate ACME obtained and serves the app.
    assert.equal((await get(httpPort, `/.well-known/acme-challenge/${'A'.repeat(43)}`)).status, 404);
    assert.equal((await get(httpPort, '/hello')).status, 308);
    const answer = await httpsGet(port, DOMAIN, '/hello');
    assert.match(answer.san, new RegExp(`DNS:${DOMAIN.replaceAll('.', '\\.')}`));
    assert.match(answer.body, /"kind":"app"/);
    primary.signal('SIGTERM');
    assert.equal((await primary.exited).code, 0);

    const again = start();
    await again.waitForLine((l) => l.msg === 'supervisor: serving', 20_000, 'the restart');
    await again.waitForLine((l) => l.msg === 'acme: using the stored certificate');
    const fromDisk = new Set<number>();
    for (let i = 0; i < 2; i++) {
      const line = await again.waitForLine(
        (l) => l.msg?.startsWith('acme: certificate ready') === true && !fromDisk.has(l.pid!),
        10_000,
        'a worker installing the stored certificate',
      );
      fromDisk.add(line.pid!);
    }
    assert.equal(
      again.lines.filter((l) => l.msg === 'acme: certificate issued').length,
      0,
      'no second order',
    );
    again.signal('SIGTERM');
    assert.equal((await again.exited).code, 0);
  });
});
