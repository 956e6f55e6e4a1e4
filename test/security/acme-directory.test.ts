/**
 * A hostile or broken ACME CA: answers too large, not JSON, trickled a byte at a time, never
 * sent, redirected, or 5xx forever. Each order fails within the request bounds (size, total
 * deadline, retries), installs nothing, and is rescheduled with backoff; the process stays up.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/observe/logger.ts';
import { AcmeManager } from '../../src/server/acme/manager.ts';
import type { CertificateSink } from '../../src/server/acme/sink.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-acme-hostile-'));
execFileSync(
  'openssl',
  // biome-ignore format: argument pairs
  ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
   '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
   '-subj', '/CN=hostile', '-addext', 'subjectAltName=IP:127.0.0.1'],
  { stdio: 'ignore' },
);
const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
const key = readFileSync(join(dir, 'key.pem'), 'utf8');

/** How the fake CA answers `GET /<case>/directory`. */
const BEHAVIOURS: Record<string, (res: import('node:http').ServerResponse) => void> = {
  huge: (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    // 4 MiB of a JSON string, past the 1 MiB cap; written in pieces so nothing waits on it.
    res.write('{"x":"');
    const piece = 'a'.repeat(64 * 1024);
    let sent = 0;
    const more = (): void => {
      while (sent < 64 && res.write(piece)) sent++;
      if (sent < 64) res.once('drain', more);
      else res.end('"}');
    };
    more();
  },
  garbage: (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('\u0000\u00ff{{{ not json at all <html>');
  },
  'wrong-shape': (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ newNonce: 42, newAccount: ['x'], newOrder: { a: 1 } }));
  },
  trickle: (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{');
    const timer = setInterval(() => res.write(' '), 50);
    res.on('close', () => clearInterval(timer));
  },
  silent: () => {
    // Never answers.
  },
  redirect: (res) => {
    res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
    res.end();
  },
  'retry-after-forever': (res) => {
    res.writeHead(429, { 'retry-after': '100000000' });
    res.end('come back in three years');
  },
  'server-error': (res) => {
    res.writeHead(503, { 'retry-after': '1' });
    res.end('down');
  },
};

describe('a hostile ACME directory', () => {
  let server: Server;
  let base: string;
  const hits = new Map<string, number>();
  const sockets = new Set<import('node:net').Socket>();

  before(async () => {
    server = createServer({ cert, key }, (req, res) => {
      const name = (req.url ?? '').split('/')[1] ?? '';
      hits.set(name, (hits.get(name) ?? 0) + 1);
      const behave = BEHAVIOURS[name];
      if (behave === undefined) {
        res.writeHead(404).end();
        return;
      }
      behave(res);
    });
    server.on('secureConnection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  for (const name of Object.keys(BEHAVIOURS)) {
    // The test's own timeout turns a hang (the bug this guards against) into a failure.
    test(`${name}: the order fails, nothing is installed, a retry is scheduled`, {
      timeout: 30_000,
    }, async () => {
      const installs: string[][] = [];
      const sink: CertificateSink = { install: (names) => void installs.push(names) };
      const manager = new AcmeManager(
        {
          domains: ['hostile.strata.localhost'],
          directoryUrl: `${base}/${name}/directory`,
          caCertificates: cert,
          storage: join(dir, `storage-${name}`),
          agreeToTerms: true,
          requestTimeout: 1000,
          requestRetries: name === 'server-error' ? 1 : 0,
          maxResponseBytes: 1_048_576,
          retryMin: 60_000,
          retryMax: 120_000,
        },
        { sink, logger: createLogger({ level: 'silent' }) },
      );
      try {
        const result = await manager.check();
        assert.equal(result.kind, 'failed');
        assert.deepEqual(installs, []);
        assert.ok(result.kind === 'failed' && result.retryIn >= 30_000 && result.retryIn <= 60_000);
        assert.ok(manager.nextCheckAt !== undefined, 'retried later, on the timer');
        if (name === 'server-error') assert.equal(hits.get(name), 2, 'one retry, as configured');
        if (name === 'redirect') assert.equal(hits.get(name), 1, 'the redirect is not followed');
      } finally {
        manager.close();
      }
    });
  }
});
