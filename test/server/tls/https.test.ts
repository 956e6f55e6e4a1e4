import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { type StrataServer, serve } from '../../../src/server.ts';
import {
  certificateDir,
  handshake,
  httpsRaw,
  makeCertificate,
  type TestCertificate,
} from '../../fixtures/tls.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request on a fresh connection (the certificate is not verified). */
function get(url: string, init: { method?: string; body?: string; path?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${url}${init.path ?? '/'}`,
      { method: init.method ?? 'GET', rejectUnauthorized: false, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Resolves once the peer closes `socket` (or after `ms`, with false). */
function closedWithin(socket: { once(e: 'close', l: () => void): unknown }, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

const app = {
  async fetch(request: Request, info: { secure: boolean; protocol?: string }): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/wait') await new Promise((r) => setTimeout(r, 300));
    if (url.pathname === '/stream')
      return new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode('streamed'));
            c.close();
          },
        }),
      );
    const body = request.method === 'POST' ? await request.text() : '';
    return Response.json({ url: request.url, secure: info.secure, body });
  },
};

describe('HTTPS listener', () => {
  let cert: TestCertificate;
  let server: StrataServer;
  let plain: StrataServer;

  before(async () => {
    cert = makeCertificate(certificateDir(), 'site', 'site.test', ['site.test', 'localhost']);
    server = await serve(app, {
      port: 0,
      logger: false,
      headersTimeout: 300,
      requestTimeout: 2000,
      maxConnectionsPerIp: 20,
      tls: {
        cert: cert.cert,
        key: cert.key,
        hsts: { maxAge: 600, includeSubDomains: true },
        handshakeTimeout: 300,
      },
    });
    plain = await serve(app, { port: 0, logger: false });
  });
  after(async () => {
    await server.close();
    await plain.close();
  });

  test('the server says https, and the app sees https URLs and info.secure', async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await get(server.url, { path: '/a?b=1' });
    assert.equal(res.status, 200);
    const json = JSON.parse(res.body) as { url: string; secure: boolean };
    assert.equal(json.url, `${server.url}/a?b=1`);
    assert.equal(json.secure, true);
  });

  test('requests with a body (node path) and streamed responses (bridged) work over TLS', async () => {
    const posted = await get(server.url, { method: 'POST', body: 'x'.repeat(100_000), path: '/p' });
    assert.equal(posted.status, 200);
    assert.equal((JSON.parse(posted.body) as { body: string }).body.length, 100_000);
    const streamed = await get(server.url, { path: '/stream' });
    assert.equal(streamed.body, 'streamed');
  });

  test('HSTS on every HTTPS response (lane, node path, bridged), never on plain HTTP', async () => {
    const expected = 'max-age=600; includeSubDomains';
    assert.equal((await get(server.url)).headers['strict-transport-security'], expected);
    assert.equal(
      (await get(server.url, { method: 'POST', body: 'x' })).headers['strict-transport-security'],
      expected,
    );
    assert.equal((await get(server.url, { path: '/stream' })).headers['strict-transport-security'], expected);
    const res = await fetch(`${plain.url}/`);
    assert.equal(res.headers.get('strict-transport-security'), null);
    assert.equal(((await res.json()) as { secure: boolean }).secure, false);
  });

  test('TLS 1.2 and 1.3 are accepted, TLS 1.0 and 1.1 refused', async () => {
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const h = await handshake(server.port, {
        minVersion: version,
        maxVersion: version,
        ALPNProtocols: ['http/1.1'],
      });
      assert.equal(h.protocol, version);
      assert.equal(h.alpn, 'http/1.1');
      h.socket.end();
    }
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      // The client is allowed the old versions (node's default floor is 1.2, and OpenSSL's
      // security level 0 lets it offer them): the server's alert refuses them.
      await assert.rejects(
        handshake(server.port, { minVersion: version, maxVersion: version, ciphers: 'DEFAULT:@SECLEVEL=0' }),
        { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' },
      );
    }
    assert.equal((await get(server.url)).status, 200);
  });

  test('a handshake that never starts or never finishes is closed after handshakeTimeout', async () => {
    const silent = tcpConnect(server.port, '127.0.0.1');
    silent.on('error', () => {});
    assert.equal(await closedWithin(silent, 5000), true, 'a silent TCP connection');
    // Half a ClientHello: a record header that promises more than is sent.
    const half = tcpConnect(server.port, '127.0.0.1', () =>
      half.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])),
    );
    half.on('error', () => {});
    assert.equal(await closedWithin(half, 5000), true, 'a half handshake');
  });

  test('plain HTTP (garbage to TLS) is closed, and the server keeps answering', async () => {
    const socket = tcpConnect(server.port, '127.0.0.1', () =>
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    );
    socket.on('error', () => {});
    socket.resume();
    assert.equal(await closedWithin(socket, 5000), true);
    assert.equal((await get(server.url)).status, 200);
  });

  test('slowloris over TLS: a head trickled past headersTimeout is cut off (lane and node)', async () => {
    // On the lane: the first request's head never completes.
    const lane = tlsConnect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false }, () =>
      lane.write('GET / HTTP/1.1\r\nHost: x\r\n'),
    );
    lane.on('error', () => {});
    lane.resume();
    assert.equal(await closedWithin(lane, 5000), true, 'the lane connection');
    // On node's parser: a request with a chunked body hands the connection over; then a second
    // head that never completes.
    let reply = '';
    const node = tlsConnect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false }, () =>
      node.write(
        'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n',
      ),
    );
    node.on('error', () => {});
    node.setEncoding('latin1');
    node.on('data', (c: string) => (reply += c));
    assert.equal(await closedWithin(node, 5000), true, 'the node connection');
    assert.match(reply, /^HTTP\/1\.1 200/);
  });

  test('the connection guard counts TLS connections per client address', async () => {
    const capped = await serve(app, {
      port: 0,
      logger: false,
      maxConnectionsPerIp: 2,
      tls: { cert: cert.cert, key: cert.key },
    });
    try {
      const a = await handshake(capped.port);
      const b = await handshake(capped.port);
      await assert.rejects(handshake(capped.port));
      a.socket.destroy();
      b.socket.destroy();
    } finally {
      await capped.close();
    }
  });

  test('graceful close over TLS: a request in flight is answered, idle connections close', async () => {
    const s = await serve(app, { port: 0, logger: false, tls: { cert: cert.cert, key: cert.key } });
    const idle = await handshake(s.port);
    const idleClosed = closedWithin(idle.socket, 10_000);
    const inFlight = httpsRaw(s.port, 'GET /wait HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    await s.close();
    assert.match(await inFlight, /^HTTP\/1\.1 200[\s\S]*connection: close/i);
    assert.equal(await idleClosed, true);
  });
});
