import assert from 'node:assert/strict';
import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CertificateStore } from '../../../src/server/tls/certificate-store.ts';
import { type StrataServer, serve } from '../../../src/server.ts';
import { certificateDir, handshake, makeCertificate, type TestCertificate } from '../../fixtures/tls.ts';

const app = { fetch: () => new Response('ok') };

/** The CN of the certificate the server sends for `servername` (none: no SNI). */
async function cnFor(port: number, servername?: string): Promise<string> {
  const h = await handshake(port, servername === undefined ? {} : { servername });
  h.socket.destroy();
  return h.cn;
}

describe('certificates chosen by SNI', () => {
  const dir = certificateDir();
  let apex: TestCertificate;
  let wild: TestCertificate;
  let other: TestCertificate;
  let server: StrataServer;

  before(async () => {
    apex = makeCertificate(dir, 'apex', 'apex', ['example.com', 'www.example.com']);
    wild = makeCertificate(dir, 'wild', 'wild', ['*.example.com']);
    other = makeCertificate(dir, 'other', 'other', ['other.test']);
    server = await serve(app, {
      port: 0,
      logger: false,
      tls: {
        certificates: [
          { cert: apex.cert, key: apex.key },
          { cert: wild.certPem, key: wild.keyPem },
          { cert: other.cert, key: other.key, names: ['named.test'] },
        ],
        default: 'named.test',
      },
    });
  });
  after(() => server.close());

  const cases: [string | undefined, string, string][] = [
    ['example.com', 'apex', 'an exact name from the SAN'],
    ['WWW.Example.COM', 'apex', 'names compare without case'],
    ['www.example.com.', 'apex', 'a trailing dot'],
    ['api.example.com', 'wild', 'a wildcard, one label deep'],
    ['a.b.example.com', 'other', 'a wildcard covers one label only: the default'],
    ['named.test', 'other', 'names given in the options replace the SAN'],
    ['other.test', 'other', "a SAN name not in the options is not the certificate's: the default"],
    ['unknown.test', 'other', 'an unknown name: the default'],
    [undefined, 'other', 'no SNI at all: the default'],
  ];
  for (const [name, cn, why] of cases) {
    test(`${name ?? '(no SNI)'} → ${cn}: ${why}`, async () => {
      assert.equal(await cnFor(server.port, name), cn);
    });
  }

  test('install() adds a certificate at runtime, over the configured names', async () => {
    const fresh = makeCertificate(dir, 'fresh', 'fresh', ['fresh.test']);
    server.certificates!.install(['fresh.test', 'api.example.com'], {
      cert: fresh.certPem,
      key: fresh.keyPem,
    });
    assert.equal(await cnFor(server.port, 'fresh.test'), 'fresh');
    assert.equal(await cnFor(server.port, 'api.example.com'), 'fresh');
    assert.equal(await cnFor(server.port, 'x.example.com'), 'wild');
    assert.ok(server.certificates!.list().some((c) => c.names.includes('fresh.test')));
  });

  test('a key that does not match its certificate is refused with the reason', () => {
    const store = new CertificateStore({});
    assert.throws(
      () => store.install(['x.test'], { cert: apex.certPem, key: wild.keyPem }),
      /key values mismatch/,
    );
    assert.throws(
      () => store.load([{ cert: join(dir, 'missing.pem'), key: apex.key }]),
      /cannot read the TLS certificate/,
    );
    assert.throws(
      () => store.load([{ cert: apex.cert, key: apex.key }], 'nope.test'),
      /tls.default names nope.test/,
    );
  });
});

describe('certificate reload', () => {
  const dir = certificateDir();
  let first: TestCertificate;
  let second: TestCertificate;

  before(() => {
    first = makeCertificate(dir, 'first', 'first', ['site.test']);
    second = makeCertificate(dir, 'second', 'second', ['site.test']);
  });

  test('reload() swaps the certificate under a stream of handshakes, with no failed handshake', async () => {
    const cert = join(dir, 'live-cert.pem');
    const key = join(dir, 'live-key.pem');
    copyFileSync(first.cert, cert);
    copyFileSync(first.key, key);
    const server = await serve(app, { port: 0, logger: false, tls: { cert, key, watch: false } });
    try {
      const seen = new Map<string, number>();
      let failures = 0;
      let reloads = 0;
      // 8 clients, 40 handshakes each (bounded), half with SNI and half without, while the files
      // flip between the two certificates and the store reloads.
      const client = async (n: number): Promise<void> => {
        for (let i = 0; i < 40; i++) {
          try {
            const cn = await cnFor(server.port, n % 2 === 0 ? 'site.test' : undefined);
            seen.set(cn, (seen.get(cn) ?? 0) + 1);
          } catch {
            failures += 1;
          }
        }
      };
      const clients = Promise.all(Array.from({ length: 8 }, (_, n) => client(n)));
      let done = false;
      void clients.then(() => {
        done = true;
      });
      while (!done && reloads < 200) {
        const from = reloads % 2 === 0 ? second : first;
        copyFileSync(from.cert, cert);
        copyFileSync(from.key, key);
        server.certificates!.reload();
        reloads += 1;
        await new Promise((r) => setTimeout(r, 5));
      }
      await clients;
      assert.equal(failures, 0, 'failed handshakes');
      assert.ok(reloads >= 2, `reloads: ${reloads}`);
      assert.equal((seen.get('first') ?? 0) + (seen.get('second') ?? 0), 320);
      assert.ok((seen.get('second') ?? 0) > 0, 'the new certificate was served');
    } finally {
      await server.close();
    }
  });

  test('a reload that fails (key written before its certificate) keeps the old certificate', async () => {
    const cert = join(dir, 'half-cert.pem');
    const key = join(dir, 'half-key.pem');
    copyFileSync(first.cert, cert);
    copyFileSync(first.key, key);
    const server = await serve(app, { port: 0, logger: false, tls: { cert, key, watch: false } });
    try {
      copyFileSync(second.key, key);
      assert.throws(() => server.certificates!.reload(), /key values mismatch/);
      assert.equal(await cnFor(server.port), 'first');
      copyFileSync(second.cert, cert);
      server.certificates!.reload();
      assert.equal(await cnFor(server.port), 'second');
    } finally {
      await server.close();
    }
  });

  test('a change to the files (replaced by rename, as certbot does) is picked up without a signal', async () => {
    const cert = join(dir, 'watched-cert.pem');
    const key = join(dir, 'watched-key.pem');
    copyFileSync(first.cert, cert);
    copyFileSync(first.key, key);
    const server = await serve(app, { port: 0, logger: false, tls: { cert, key } });
    try {
      assert.equal(await cnFor(server.port), 'first');
      writeFileSync(`${key}.tmp`, second.keyPem);
      writeFileSync(`${cert}.tmp`, second.certPem);
      renameSync(`${key}.tmp`, key);
      renameSync(`${cert}.tmp`, cert);
      // Bounded wait: the watch debounces for 200 ms.
      let cn = 'first';
      for (let i = 0; i < 100 && cn !== 'second'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        cn = await cnFor(server.port);
      }
      assert.equal(cn, 'second');
    } finally {
      await server.close();
    }
  });
});
