/** The ACME state on disk: private modes, atomic files, and what is refused on reading. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defaultAcmeStorage } from '../../../src/server/acme/options.ts';
import { AcmeStorage, caDirName } from '../../../src/server/acme/storage.ts';

const root = mkdtempSync(join(tmpdir(), 'strata-acme-storage-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A self-signed certificate and its key, from openssl. */
function selfSigned(name: string, days = 90): { cert: string; key: string } {
  const dir = mkdtempSync(join(root, 'cert-'));
  execFileSync(
    'openssl',
    // biome-ignore format: argument pairs
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
     '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', String(days),
     '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`],
    { stdio: 'ignore' },
  );
  return {
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
  };
}

test('one directory per CA: staging and production never mix', () => {
  assert.equal(
    caDirName('https://acme-v02.api.letsencrypt.org/directory'),
    'acme-v02.api.letsencrypt.org-directory',
  );
  assert.equal(caDirName('https://127.0.0.1:14000/dir'), '127.0.0.1-14000-dir');
  assert.notEqual(
    caDirName('https://acme-staging-v02.api.letsencrypt.org/directory'),
    caDirName('https://acme-v02.api.letsencrypt.org/directory'),
  );
});

test('the default storage is per user: $XDG_DATA_HOME/strata/acme, else ~/.local/share/strata/acme', () => {
  assert.equal(defaultAcmeStorage({ XDG_DATA_HOME: '/data' }), '/data/strata/acme');
  assert.match(defaultAcmeStorage({}), /\/\.local\/share\/strata\/acme$/);
});

test('saved: directories 0700 and files 0600 whatever the umask; no temporary file left; read back', async () => {
  const previous = process.umask(0o000);
  try {
    const storage = new AcmeStorage(join(root, 'a'), 'https://ca.example/dir');
    const pem = selfSigned('a.example.com');
    await storage.saveAccountKey('account key');
    await storage.saveAccountUrl('https://ca.example/acct/1');
    await storage.saveCertificate(['a.example.com'], pem);
    const certDir = join(storage.dir, 'certificates', 'a.example.com');
    for (const dir of [storage.dir, join(storage.dir, 'certificates'), certDir])
      assert.equal(statSync(dir).mode & 0o777, 0o700, dir);
    for (const file of ['account.key', 'account.json'])
      assert.equal(statSync(join(storage.dir, file)).mode & 0o777, 0o600, file);
    for (const file of readdirSync(certDir))
      assert.equal(statSync(join(certDir, file)).mode & 0o777, 0o600, file);
    assert.deepEqual(readdirSync(certDir).sort(), ['cert.pem', 'domains.json', 'key.pem']);
    assert.equal(await storage.accountKey(), 'account key');
    assert.equal(await storage.accountUrl(), 'https://ca.example/acct/1');
    const stored = await storage.certificate(['a.example.com']);
    assert.equal(stored?.cert, pem.cert);
    assert.ok(stored.notAfter - stored.notBefore > 89 * 86_400_000);
  } finally {
    process.umask(previous);
  }
});

test('read: a key file others can read is tightened to 0600', async () => {
  const storage = new AcmeStorage(join(root, 'b'), 'https://ca.example/dir');
  await storage.saveAccountKey('k');
  chmodSync(join(storage.dir, 'account.key'), 0o644);
  assert.equal(await storage.accountKey(), 'k');
  assert.equal(statSync(join(storage.dir, 'account.key')).mode & 0o777, 0o600);
});

test('read: another set of names, a key that is not the certificate’s, or garbage, is no certificate', async () => {
  const storage = new AcmeStorage(join(root, 'c'), 'https://ca.example/dir');
  const a = selfSigned('c.example.com');
  const b = selfSigned('c.example.com');
  await storage.saveCertificate(['c.example.com'], a);
  assert.ok(await storage.certificate(['c.example.com']));
  assert.equal(await storage.certificate(['c.example.com', 'www.c.example.com']), undefined, 'other names');
  await storage.saveCertificate(['c.example.com'], { cert: a.cert, key: b.key });
  assert.equal(await storage.certificate(['c.example.com']), undefined, 'mismatched key');
  await storage.saveCertificate(['c.example.com'], { cert: 'garbage', key: 'garbage' });
  assert.equal(await storage.certificate(['c.example.com']), undefined, 'garbage');
  assert.equal(
    await new AcmeStorage(join(root, 'none'), 'https://ca.example/dir').certificate(['x.example.com']),
    undefined,
  );
  assert.equal(await new AcmeStorage(join(root, 'none'), 'https://ca.example/dir').accountKey(), undefined);
});

test('account.json that is not JSON is no account URL', async () => {
  const storage = new AcmeStorage(join(root, 'd'), 'https://ca.example/dir');
  await storage.saveAccountKey('k');
  writeFileSync(join(storage.dir, 'account.json'), '{nope', { mode: 0o600 });
  assert.equal(await storage.accountUrl(), undefined);
});
