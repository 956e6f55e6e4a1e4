import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  cacheDirectory,
  developmentCertificate,
  trustInstructions,
} from '../../../src/server/tls/self-signed.ts';
import { serve } from '../../../src/server.ts';
import { certificateDir, handshake } from '../../fixtures/tls.ts';

test('the development certificate holds localhost, 127.0.0.1 and ::1, and is cached', async () => {
  const dir = join(certificateDir(), 'cache');
  const made = await developmentCertificate(dir);
  assert.equal(made.created, true);
  const x509 = new X509Certificate(made.cert);
  assert.equal(x509.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
  assert.ok(x509.checkHost('localhost'));
  assert.ok(x509.checkIP('127.0.0.1'));
  assert.ok(x509.checkIP('::1'));
  assert.equal(x509.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.ok(x509.checkPrivateKey((await import('node:crypto')).createPrivateKey(made.key)));
  assert.equal(statSync(made.keyFile).mode & 0o077, 0, 'the key is readable by its user only');
  const again = await developmentCertificate(dir);
  assert.equal(again.created, false);
  assert.equal(again.cert, made.cert);
  // Close to its end (past the renewal margin), it is made again.
  const later = await developmentCertificate(dir, Date.parse(x509.validTo) - 86_400_000);
  assert.equal(later.created, true);
  assert.notEqual(later.cert, made.cert);
});

test('the cache lives under XDG_CACHE_HOME, else ~/.cache', () => {
  assert.equal(cacheDirectory({ XDG_CACHE_HOME: '/x/cache' }), join('/x/cache', 'strata'));
  assert.match(cacheDirectory({}), /\.cache[\\/]strata$/);
});

test('serve() with selfSigned answers HTTPS with the cached certificate, verified by it', async () => {
  const dir = join(certificateDir(), 'xdg');
  const previous = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = dir;
  try {
    const server = await serve(
      { fetch: () => new Response('dev') },
      { port: 0, logger: false, tls: { selfSigned: true } },
    );
    try {
      const dev = await developmentCertificate(join(dir, 'strata'));
      assert.equal(dev.created, false, 'serve() made and cached it');
      // Verified against the certificate itself, for the IP the URL names.
      const h = await handshake(server.port, { rejectUnauthorized: true, ca: dev.cert });
      assert.equal(h.cn, 'localhost');
      h.socket.destroy();
    } finally {
      await server.close();
    }
  } finally {
    if (previous === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = previous;
  }
});

test('the trust instructions name the file for Linux, macOS and Windows', () => {
  const text = trustInstructions('/home/u/.cache/strata/localhost-cert.pem');
  for (const line of [
    'update-ca-certificates',
    'security add-trusted-cert',
    'certutil',
    'NODE_EXTRA_CA_CERTS',
  ])
    assert.ok(text.includes(line), line);
  assert.equal(text.split('localhost-cert.pem').length - 1 >= 4, true);
});
