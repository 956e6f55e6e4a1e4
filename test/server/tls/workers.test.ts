/**
 * HTTPS under `strata serve --workers 2`: a session made with one worker resumes on the other
 * (the primary's ticket secret), and SIGHUP's rolling reload brings the new certificate files in.
 */
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type ConnectionOptions, connect } from 'node:tls';
import { killAll, startPrimary } from '../../fixtures/supervisor.ts';
import { certificateDir, makeCertificate } from '../../fixtures/tls.ts';

/** One GET over a fresh TLS connection: which worker answered, and whether the session resumed. */
function ask(
  port: number,
  options: ConnectionOptions,
): Promise<{ pid: string; reused: boolean; cn: string; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () =>
      socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    );
    let text = '';
    socket.setEncoding('latin1');
    socket.on('session', (s: Buffer) => (session = s));
    socket.on('data', (c: string) => (text += c));
    socket.on('error', reject);
    socket.on('end', () => {
      const cert = socket.getPeerCertificate();
      resolve({
        pid: text.split('\r\n\r\n')[1] ?? '',
        reused: socket.isSessionReused(),
        cn: String(cert.subject?.CN ?? ''),
        session,
      });
    });
  });
}

describe('HTTPS under --workers', () => {
  after(killAll);

  test('sessions resume across workers; SIGHUP reloads the certificates', async () => {
    const dir = certificateDir();
    const first = makeCertificate(dir, 'first', 'first', ['site.test']);
    const second = makeCertificate(dir, 'second', 'second', ['site.test']);
    const cert = join(dir, 'live-cert.pem');
    const key = join(dir, 'live-key.pem');
    copyFileSync(first.cert, cert);
    copyFileSync(first.key, key);
    const primary = await startPrimary([
      '--workers',
      '2',
      '--worker-mode',
      'cluster',
      '--cert',
      cert,
      '--key',
      key,
    ]);
    assert.match(primary.url, /^https:\/\//);
    const port = Number(new URL(primary.url).port);
    const options = { servername: 'site.test', maxVersion: 'TLSv1.2' } as const;
    const start = await ask(port, options);
    assert.ok(start.session !== undefined);
    const pids = new Set<string>([start.pid]);
    let reused = 0;
    // cluster mode hands connections out round robin: 10 connections reach both workers.
    for (let i = 0; i < 10; i++) {
      const r = await ask(port, { ...options, session: start.session });
      pids.add(r.pid);
      if (r.reused) reused += 1;
    }
    assert.equal(pids.size, 2, 'both workers answered');
    assert.equal(reused, 10, 'every connection resumed the first session, whichever worker took it');
    assert.equal(start.cn, 'first');

    copyFileSync(second.cert, cert);
    copyFileSync(second.key, key);
    primary.signal('SIGHUP');
    await primary.waitForLine((l) => l.msg === 'supervisor: rolling reload finished', 30_000, 'the reload');
    for (let i = 0; i < 4; i++) assert.equal((await ask(port, options)).cn, 'second');
  });
});
