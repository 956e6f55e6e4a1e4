/**
 * TLS-ALPN-01 (RFC 8737): the front on the TLS port completes the CA's `acme-tls/1` handshake
 * with the challenge certificate, and hands every other connection — a browser's for the same
 * name during the challenge included — to the real TLS server untouched. End to end against
 * pebble when it is installed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, createSecureContext, createServer, type SecureContext } from 'node:tls';
import { createLogger } from '../../../src/observe/logger.ts';
import { AcmeManager } from '../../../src/server/acme/manager.ts';
import type { CertificateSink } from '../../../src/server/acme/sink.ts';
import { ACME_TLS_ALPN, AlpnChallenges, tlsAlpnFront } from '../../../src/server/acme/tls-alpn.ts';
import { pebbleAvailable, startPebble } from '../../fixtures/pebble.ts';
import { freePort } from '../../fixtures/ports.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-alpn-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function selfSigned(name: string): { cert: string; key: string } {
  const at = mkdtempSync(join(dir, 'c-'));
  execFileSync(
    'openssl',
    // biome-ignore format: argument pairs
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
     '-keyout', join(at, 'key.pem'), '-out', join(at, 'cert.pem'), '-days', '1',
     '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(join(at, 'cert.pem'), 'utf8'), key: readFileSync(join(at, 'key.pem'), 'utf8') };
}

/** A real TLS server behind the front, serving `contexts` by SNI. */
function frontedTls(answers: Parameters<typeof tlsAlpnFront>[0], contexts: Map<string, SecureContext>) {
  const tls = createServer({
    ALPNProtocols: ['h2', 'http/1.1'],
    SNICallback: (name, cb) => cb(null, contexts.get(name)),
  });
  tls.on('secureConnection', (s) => s.end(`real ${s.alpnProtocol}\n`));
  const front = createNetServer(tlsAlpnFront(answers, (socket) => tls.emit('connection', socket)));
  return front;
}

function handshake(port: number, servername: string, alpn: string[]) {
  return new Promise<{ fingerprint: string; alpn: string | false | null; body: string }>(
    (resolve, reject) => {
      const socket = connect(
        { port, host: '127.0.0.1', servername, ALPNProtocols: alpn, rejectUnauthorized: false },
        () => {
          const fingerprint = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
          let body = '';
          socket.on('data', (c) => (body += c));
          socket.on('end', () => resolve({ fingerprint, alpn: socket.alpnProtocol, body }));
        },
      );
      socket.on('error', reject);
    },
  );
}

describe('the TLS-ALPN-01 front', () => {
  const name = 'alpn.example.com';
  const real = selfSigned(name);
  const challenge = selfSigned(name);
  const challenges = new AlpnChallenges();
  let front: NetServer;
  let port: number;

  before(async () => {
    front = frontedTls(challenges, new Map([[name, createSecureContext(real)]]));
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    port = (front.address() as AddressInfo).port;
  });
  after(() => front.close());

  const realPrint = new X509Certificate(real.cert).fingerprint256;
  const challengePrint = new X509Certificate(challenge.cert).fingerprint256;

  test('nothing pending: the real server answers every handshake (and refuses acme-tls/1, which it does not speak)', async () => {
    assert.equal((await handshake(port, name, ['h2'])).fingerprint, realPrint);
    await assert.rejects(handshake(port, name, [ACME_TLS_ALPN]), {
      code: 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL',
    });
  });

  test('pending: acme-tls/1 alone gets the challenge certificate and nothing else; a browser still gets the real one', async () => {
    challenges.set(name, challenge);
    try {
      const validation = await handshake(port, name, [ACME_TLS_ALPN]);
      assert.equal(validation.fingerprint, challengePrint);
      assert.equal(validation.alpn, ACME_TLS_ALPN);
      assert.equal(validation.body, '', 'the validation handshake carries no data');
      const browser = await handshake(port, name, ['h2', 'http/1.1']);
      assert.equal(browser.fingerprint, realPrint);
      assert.equal(browser.body, 'real h2\n');
      // acme-tls/1 among others is not the CA's handshake (RFC 8737 §3: it offers only that one).
      assert.equal((await handshake(port, name, ['http/1.1', ACME_TLS_ALPN])).fingerprint, realPrint);
      // Another name: the real server's answer (here: no certificate for it, a failed handshake).
      await assert.rejects(handshake(port, 'other.example.com', [ACME_TLS_ALPN]));
    } finally {
      challenges.delete(name);
    }
  });
});

const available = pebbleAvailable();

test('TLS-ALPN-01 end to end against pebble', { skip: available === true ? false : available }, async () => {
  const tlsPort = await freePort();
  const pebble = await startPebble(await freePort(), tlsPort);
  const DOMAIN = 'alpn.strata.localhost';
  const contexts = new Map<string, SecureContext>();
  const installs: string[] = [];
  const sink: CertificateSink = {
    install(names, pem) {
      for (const n of names) contexts.set(n, createSecureContext(pem));
      installs.push(pem.cert);
    },
  };
  const acme = new AcmeManager(
    {
      domains: [DOMAIN],
      challenge: 'tls-alpn-01',
      directoryUrl: pebble.directoryUrl,
      caCertificates: pebble.listenerCa,
      storage: join(dir, 'storage'),
      agreeToTerms: true,
    },
    { sink, logger: createLogger({ level: 'silent' }) },
  );
  const front = frontedTls(acme, contexts);
  await new Promise<void>((resolve) => front.listen(tlsPort, '127.0.0.1', resolve));
  try {
    const result = await acme.start();
    assert.equal(result.kind, 'issued', result.kind === 'failed' ? result.error.stack : '');
    assert.equal(acme.alpnPending, false, 'the challenge certificate is withdrawn');
    const seen = await handshake(tlsPort, DOMAIN, ['h2']);
    assert.equal(seen.fingerprint, new X509Certificate(installs[0]!).fingerprint256);
  } finally {
    acme.close();
    front.close();
    await pebble.close();
  }
});
