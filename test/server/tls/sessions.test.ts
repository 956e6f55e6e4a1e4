import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { TicketKeys } from '../../../src/server/tls/ticket-keys.ts';
import { type StrataServer, serve } from '../../../src/server.ts';
import { certificateDir, handshake, makeCertificate, type TestCertificate } from '../../fixtures/tls.ts';

const app = { fetch: () => new Response('ok') };

describe('session resumption', () => {
  let cert: TestCertificate;
  const secret = randomBytes(32).toString('base64');
  let a: StrataServer;
  let b: StrataServer;
  let stranger: StrataServer;

  before(async () => {
    cert = makeCertificate(certificateDir(), 'site', 'site', ['site.test']);
    const tls = { cert: cert.cert, key: cert.key, ticketSecret: secret };
    a = await serve(app, { port: 0, logger: false, tls });
    b = await serve(app, { port: 0, logger: false, tls });
    stranger = await serve(app, { port: 0, logger: false, tls: { cert: cert.cert, key: cert.key } });
  });
  after(async () => {
    await Promise.all([a.close(), b.close(), stranger.close()]);
  });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    test(`${version}: a session resumes on the same server and on another with the same secret`, async () => {
      const options = { minVersion: version, maxVersion: version, servername: 'site.test' } as const;
      const first = await handshake(a.port, options);
      first.socket.destroy();
      assert.equal(first.reused, false);
      assert.ok(first.session !== undefined, 'a session ticket came');
      const again = await handshake(a.port, { ...options, session: first.session });
      again.socket.destroy();
      assert.equal(again.reused, true, 'resumed on the same server');
      const elsewhere = await handshake(b.port, { ...options, session: first.session });
      elsewhere.socket.destroy();
      assert.equal(elsewhere.reused, true, 'resumed on a server sharing the secret (another worker)');
      const foreign = await handshake(stranger.port, { ...options, session: first.session });
      foreign.socket.destroy();
      assert.equal(
        foreign.reused,
        false,
        'a server with its own keys makes a full handshake, and it succeeds',
      );
    });
  }

  test('a session resumes across a certificate reload (the ticket keys are set again)', async () => {
    const first = await handshake(a.port, { servername: 'site.test' });
    first.socket.destroy();
    a.certificates!.reload();
    const again = await handshake(a.port, { servername: 'site.test', session: first.session });
    again.socket.destroy();
    assert.equal(again.reused, true);
  });
});

describe('TicketKeys', () => {
  test('the same secret gives the same 48-byte key within a period, another in the next', () => {
    const secret = randomBytes(32);
    const one = new TicketKeys(secret, 60_000);
    const two = new TicketKeys(secret, 60_000);
    const t = 1_700_000_000_000 - (1_700_000_000_000 % 60_000);
    assert.equal(one.keyAt(t).length, 48);
    assert.deepEqual(one.keyAt(t), two.keyAt(t + 59_999));
    assert.notDeepEqual(one.keyAt(t), one.keyAt(t + 60_000));
    assert.notDeepEqual(one.keyAt(t), new TicketKeys(randomBytes(32), 60_000).keyAt(t));
  });

  test('a short secret and a rotation under a second are refused', () => {
    assert.throws(() => new TicketKeys(randomBytes(16), 60_000), /at least 32 bytes/);
    assert.throws(() => new TicketKeys(undefined, 10), /at least 1000 ms/);
  });
});
