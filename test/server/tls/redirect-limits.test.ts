/**
 * The redirect listener's limits: `close()` resolves once its connections are gone too (a
 * client that sent half a head — node stops its headersTimeout checks once the server closes —
 * or holds a keep-alive connection must not keep the process alive after the server closed),
 * and `maxConnectionsPerIp` holds there as on the HTTPS listener.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { serve } from '../../../src/server.ts';
import { certificateDir, makeCertificate } from '../../fixtures/tls.ts';

function open(port: number, text: string): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('connect', () => {
      socket.write(text);
      resolve({ socket, closed });
    });
    socket.once('error', reject);
  });
}

test('closing the server closes the redirect listener connections: a half-sent head, an idle keep-alive', async (t) => {
  const cert = makeCertificate(certificateDir(), 'site', 'site', ['site.test']);
  const server = await serve(() => new Response('ok'), {
    port: 0,
    logger: false,
    // Far beyond this test: only close() may end these connections.
    headersTimeout: 60_000,
    requestTimeout: 120_000,
    keepAliveTimeout: 60_000,
    tls: { cert: cert.cert, key: cert.key, redirectHttp: 0 },
  });
  const port = Number(new URL(server.redirectUrl!).port);
  const half = await open(port, 'GET / HTTP/1.1\r\nHost: site.test\r\n');
  const idle = await open(port, 'GET / HTTP/1.1\r\nHost: site.test\r\n\r\n');
  await new Promise<void>((resolve) => idle.socket.once('data', () => resolve()));
  t.after(() => {
    half.socket.destroy();
    idle.socket.destroy();
  });
  await server.close();
  // Both end with the server, not at headersTimeout or keepAliveTimeout (a minute away); the
  // bound only keeps a failing run short.
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    Promise.all([half.closed, idle.closed]).then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), 5000);
    }),
  ]);
  clearTimeout(timer);
  assert.equal(closed, true, 'both redirect connections closed with the server');
});

test('maxConnectionsPerIp holds on the redirect listener too (it also answers ACME HTTP-01)', async (t) => {
  const cert = makeCertificate(certificateDir(), 'site', 'site', ['site.test']);
  const server = await serve(() => new Response('ok'), {
    port: 0,
    logger: false,
    maxConnectionsPerIp: 2,
    tls: { cert: cert.cert, key: cert.key, redirectHttp: 0 },
  });
  t.after(() => server.close());
  const port = Number(new URL(server.redirectUrl!).port);
  const kept = [await open(port, ''), await open(port, '')];
  const third = await open(port, 'GET / HTTP/1.1\r\nHost: site.test\r\n\r\n');
  t.after(() => {
    for (const c of [...kept, third]) c.socket.destroy();
  });
  let answered = '';
  third.socket.on('data', (c: Buffer) => (answered += c.toString('latin1')));
  await third.closed;
  assert.equal(answered, '', 'the third connection from one address is closed unanswered');
  // The two within the cap are served.
  const reply = await new Promise<string>((resolve) => {
    kept[0]!.socket.once('data', (c: Buffer) => resolve(c.toString('latin1')));
    kept[0]!.socket.write('GET /x HTTP/1.1\r\nHost: site.test\r\n\r\n');
  });
  assert.match(reply, /^HTTP\/1\.1 308 /);
});
