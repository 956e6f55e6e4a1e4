/**
 * End to end against Debian's pebble: strata answers HTTP-01 on a loopback port, the certificate
 * reaches the sink and a TLS listener serves it (chaining to pebble's root), the stored one is
 * reused on a restart, a due one is renewed, and a CA that is down is retried with backoff.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, createSecureContext, createServer, type SecureContext, type Server } from 'node:tls';
import { createLogger } from '../../../src/observe/logger.ts';
import { AcmeManager } from '../../../src/server/acme/manager.ts';
import type { CertificateSink } from '../../../src/server/acme/sink.ts';
import { type EdgeServer, serve } from '../../../src/server/serve.ts';
import { waitFor } from '../../fixtures/http.ts';
import { type Pebble, pebbleAvailable, startPebble } from '../../fixtures/pebble.ts';
import { freePort } from '../../fixtures/ports.ts';

const available = pebbleAvailable();
const DOMAIN = 'test.strata.localhost';
const silent = createLogger({ level: 'silent' });

/** A stand-in for the TLS listener's certificate store: SNI → the last installed context. */
class TlsSink implements CertificateSink {
  readonly installs: { names: string[]; cert: string }[] = [];
  readonly #contexts = new Map<string, SecureContext>();

  install(names: string[], pem: { cert: string; key: string }): void {
    const context = createSecureContext(pem);
    for (const name of names) this.#contexts.set(name, context);
    this.installs.push({ names, cert: pem.cert });
  }

  listen(): Promise<Server> {
    const server = createServer({
      SNICallback: (name, cb) => cb(null, this.#contexts.get(name)),
    });
    server.on('secureConnection', (socket) => socket.end('hello over tls\n'));
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
  }
}

/** The peer certificate and whether it verified against `ca`, for SNI `servername`. */
function handshake(port: number, servername: string, ca: string) {
  return new Promise<{ authorized: boolean; error: string | undefined; fingerprint: string; body: string }>(
    (resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', servername, ca, rejectUnauthorized: false }, () => {
        const peer = socket.getPeerX509Certificate();
        let body = '';
        socket.setEncoding('utf8');
        socket.on('data', (c: string) => (body += c));
        socket.on('end', () =>
          resolve({
            authorized: socket.authorized,
            error: socket.authorizationError?.message,
            fingerprint: peer?.fingerprint256 ?? '',
            body,
          }),
        );
      });
      socket.on('error', reject);
    },
  );
}

describe('ACME against pebble', { skip: available === true ? false : available }, () => {
  let pebble: Pebble;
  let server: EdgeServer;
  let storage: string;
  const appSaw: string[] = [];
  // What strata's listener answered on the challenge path (target → answered or not).
  const answered: { target: string; hit: boolean }[] = [];
  // The manager strata's listener answers for; each test swaps in its own.
  let answering: AcmeManager | undefined;

  const manager = (
    sink: CertificateSink,
    extra: Partial<ConstructorParameters<typeof AcmeManager>[0]> = {},
  ) =>
    new AcmeManager(
      {
        domains: [DOMAIN],
        directoryUrl: pebble.directoryUrl,
        caCertificates: pebble.listenerCa,
        storage,
        agreeToTerms: true,
        email: 'ops@strata.localhost',
        requestRetries: 0,
        ...extra,
      },
      { sink, logger: silent },
    );

  before(async () => {
    storage = mkdtempSync(join(tmpdir(), 'strata-acme-'));
    const port = await freePort();
    pebble = await startPebble(port);
    server = await serve(
      {
        fetch: (request: Request) => {
          appSaw.push(new URL(request.url).pathname);
          return new Response('app');
        },
      },
      {
        port,
        logger: false,
        acmeChallenges: {
          http01: (target) => {
            const body = answering?.http01(target);
            answered.push({ target, hit: body !== undefined });
            return body;
          },
        },
      },
    );
  });

  after(async () => {
    await server?.close();
    await pebble?.close();
    rmSync(storage, { recursive: true, force: true });
  });

  test('orders a certificate through HTTP-01 answered by strata; a TLS listener serves it, chained to pebble', async () => {
    const sink = new TlsSink();
    const acme = manager(sink);
    answering = acme;
    try {
      const result = await acme.start();
      assert.equal(result.kind, 'issued', result.kind === 'failed' ? result.error.stack : '');
      assert.equal(acme.orders, 1);
      assert.equal(acme.challenges.size, 0, 'the challenge is withdrawn after the order');
      assert.deepEqual(appSaw, [], 'the app never saw the CA validation');
      assert.ok(
        answered.some((a) => a.hit && a.target.startsWith('/.well-known/acme-challenge/')),
        'pebble fetched the key authorization from strata',
      );
      assert.equal(sink.installs.length, 1);
      assert.deepEqual(sink.installs[0]!.names, [DOMAIN]);
      const leaf = new X509Certificate(sink.installs[0]!.cert);
      assert.match(leaf.subjectAltName ?? '', new RegExp(`DNS:${DOMAIN.replaceAll('.', '\\.')}`));
      // A renewal is scheduled (pebble 2.4 issues 5-year certificates: 30 days before expiry).
      assert.ok(result.kind === 'issued' && result.renewAt === leaf.validToDate.getTime() - 30 * 86_400_000);
      assert.ok(acme.nextCheckAt !== undefined);

      const tls = await sink.listen();
      try {
        const { port } = tls.address() as AddressInfo;
        const seen = await handshake(port, DOMAIN, await pebble.root());
        assert.equal(seen.error, undefined);
        assert.equal(seen.authorized, true, 'the chain verifies against pebble root');
        assert.equal(seen.fingerprint, leaf.fingerprint256);
        assert.equal(seen.body, 'hello over tls\n');
      } finally {
        tls.close();
      }
      // On disk: directories 0700, files 0600.
      for (const path of [
        acme.storage.dir,
        join(acme.storage.dir, 'account.key'),
        join(acme.storage.dir, 'certificates', DOMAIN),
        join(acme.storage.dir, 'certificates', DOMAIN, 'key.pem'),
        join(acme.storage.dir, 'certificates', DOMAIN, 'cert.pem'),
      ]) {
        const mode = statSync(path).mode & 0o777;
        assert.equal(mode, statSync(path).isDirectory() ? 0o700 : 0o600, path);
      }
    } finally {
      acme.close();
    }
  });

  test('a restart reuses the stored certificate: installed at once, no order', async () => {
    const sink = new TlsSink();
    const acme = manager(sink);
    answering = acme;
    try {
      const result = await acme.start();
      assert.equal(result.kind, 'valid');
      assert.equal(acme.orders, 0);
      assert.equal(sink.installs.length, 1);
    } finally {
      acme.close();
    }
  });

  test('a certificate due for renewal (the clock 10 days before expiry) is renewed at start', async () => {
    const first = await manager(new TlsSink()).storage.certificate([DOMAIN]);
    assert.ok(first !== undefined);
    const sink = new TlsSink();
    const acme = manager(sink, { now: () => first.notAfter - 10 * 86_400_000 });
    answering = acme;
    try {
      const result = await acme.start();
      assert.equal(result.kind, 'issued', result.kind === 'failed' ? result.error.stack : '');
      assert.equal(acme.orders, 1);
      // The old one first (still valid), then the renewed one.
      assert.equal(sink.installs.length, 2);
      assert.notEqual(
        new X509Certificate(sink.installs[1]!.cert).serialNumber,
        new X509Certificate(first.cert).serialNumber,
      );
      const stored = await acme.storage.certificate([DOMAIN]);
      assert.equal(stored?.cert, sink.installs[1]!.cert, 'the renewed certificate is stored');
    } finally {
      acme.close();
    }
  });

  test('the renewal timer fires by itself: the clock 200 ms before the renewal time', async () => {
    const stored = await manager(new TlsSink()).storage.certificate([DOMAIN]);
    assert.ok(stored !== undefined);
    const renewAt = stored.notAfter - 30 * 86_400_000;
    const t0 = Date.now();
    const sink = new TlsSink();
    // The clock runs from 200 ms before the renewal time, and goes back to the stored
    // certificate's start once the renewed one is installed (X.509 times are in whole seconds: a
    // certificate issued within the same second would be due at once on a clock left running).
    const now = () => (sink.installs.length >= 2 ? stored.notBefore : renewAt - 200 + (Date.now() - t0));
    const acme = manager(sink, { now });
    answering = acme;
    try {
      const result = await acme.start();
      assert.equal(result.kind, 'valid', 'not due yet');
      assert.equal(acme.orders, 0);
      await waitFor(() => sink.installs.length >= 2, 20_000, 'the renewed certificate');
      assert.equal(acme.orders, 1);
      assert.notEqual(sink.installs[1]!.cert, stored.cert);
      assert.ok(acme.nextCheckAt !== undefined, 'the next renewal is scheduled');
    } finally {
      acme.close();
    }
  });

  test('the CA down: the order fails, is retried with growing jittered waits, and close() cancels the timer', async () => {
    const stored = await manager(new TlsSink()).storage.certificate([DOMAIN]);
    assert.ok(stored !== undefined);
    await pebble.stop();
    const acme = manager(new TlsSink(), {
      now: () => stored.notAfter - 86_400_000,
      retryMin: 60_000,
      retryMax: 200_000,
      random: () => 0.5,
    });
    answering = acme;
    try {
      const waits: number[] = [];
      for (let i = 0; i < 4; i++) {
        const result = await acme.check();
        assert.equal(result.kind, 'failed');
        if (result.kind === 'failed') waits.push(result.retryIn);
      }
      // 60 s, 120 s, then the 200 s cap; each the midpoint of [d/2, d] with random 0.5.
      assert.deepEqual(waits, [45_000, 90_000, 150_000, 150_000]);
      assert.equal(acme.failures, 4);
      assert.ok(acme.nextCheckAt !== undefined);
      acme.close();
      assert.equal(acme.nextCheckAt, undefined);
      assert.equal((await acme.check()).kind, 'closed');
    } finally {
      acme.close();
    }
  });
});
