import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { peerKey } from '../../src/server/edge-policy.ts';
import { SERVER_DEFAULTS, type StrataServer, serve } from '../../src/server.ts';

// Defaults a public server can live with: one client cannot hold every connection slot with
// slow POSTs (maxConnectionsPerIp on by default), and a slow request is cut after a minute.

async function app(request: Request): Promise<Response> {
  if (request.method === 'POST') await request.arrayBuffer();
  return new Response('ok');
}

/** Opens a connection from `local` and sends `data`; resolves once connected. */
function open(port: number, local: string, data: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: local });
    socket.on('error', () => {});
    socket.once('connect', () => {
      socket.write(data);
      resolve(socket);
    });
    setTimeout(() => reject(new Error('connect timed out')), 2000).unref();
  });
}

/** A GET from `local` on a fresh connection: its status, or 0 if the server closed it first. */
function getFrom(port: number, local: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: local });
    let got = '';
    const done = (): void => {
      socket.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      resolve(m ? Number(m[1]) : 0);
    };
    socket.on('data', (c) => {
      got += c.toString('latin1');
      if (got.includes('\r\n\r\n')) done();
    });
    socket.on('close', done);
    socket.on('error', done);
    socket.once('connect', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    setTimeout(done, 2000).unref();
  });
}

function connections(server: StrataServer): Promise<number> {
  return new Promise((resolve) => server.node.getConnections((_err, n) => resolve(n)));
}

test('the shipped defaults: requestTimeout 60 s, maxConnectionsPerIp 256, maxHeaderCount 100', () => {
  assert.equal(SERVER_DEFAULTS.requestTimeout, 60_000);
  assert.equal(SERVER_DEFAULTS.maxConnectionsPerIp, 256);
  assert.equal(SERVER_DEFAULTS.maxHeaderCount, 100);
  assert.ok(SERVER_DEFAULTS.idleTimeout <= 60_000, 'a stalled body is cut within a minute');
});

// On both transports: the fast lane and node:http alone.
for (const fastLane of [true, false]) {
  describe(`edge defaults (fastLane: ${fastLane})`, () => {
    test('one client with many slow POSTs cannot starve a second client (default per-IP cap)', async () => {
      // 300 slots in all (lower than the default, so that the test stays small); the per-IP cap is
      // the default one.
      const server = await serve(app, { port: 0, logger: false, fastLane, maxConnections: 300 });
      const held: Socket[] = [];
      try {
        const slowPost = 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nsome bytes';
        for (let i = 0; i < 300; i++) held.push(await open(server.port, '127.0.0.2', slowPost));
        // Every attacker connection the server accepted is held; let the accepts settle.
        let settled = -1;
        for (let i = 0; i < 50; i++) {
          const n = await connections(server);
          if (n === settled) break;
          settled = n;
          await new Promise((r) => setTimeout(r, 40));
        }
        assert.ok(settled <= SERVER_DEFAULTS.maxConnectionsPerIp, `one peer holds ${settled} connections`);
        assert.equal(await getFrom(server.port, '127.0.0.3'), 200, 'the second client is served');
      } finally {
        for (const s of held) s.destroy();
        await server.close();
      }
    });

    test('a trusted proxy is not capped per IP; other peers are', async () => {
      const server = await serve(app, {
        port: 0,
        logger: false,
        fastLane,
        maxConnectionsPerIp: 3,
        trustProxy: ['127.0.0.4'],
      });
      const held: Socket[] = [];
      try {
        const idle = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
        for (let i = 0; i < 6; i++) held.push(await open(server.port, '127.0.0.4', idle));
        for (let i = 0; i < 3; i++) held.push(await open(server.port, '127.0.0.5', idle));
        assert.equal(await getFrom(server.port, '127.0.0.4'), 200, 'the proxy opens a 7th');
        assert.equal(await getFrom(server.port, '127.0.0.5'), 0, 'a 4th from one client is closed');
      } finally {
        for (const s of held) s.destroy();
        await server.close();
      }
    });

    test('an IPv6 client is counted by its /64, an IPv4-mapped one by its IPv4 address', () => {
      assert.equal(peerKey('2001:db8:1:2:3:4:5:6'), peerKey('2001:db8:1:2::9'));
      assert.notEqual(peerKey('2001:db8:1:2::1'), peerKey('2001:db8:1:3::1'));
      assert.equal(peerKey('::ffff:192.0.2.1'), '192.0.2.1');
      assert.equal(peerKey('192.0.2.1'), '192.0.2.1');
      assert.equal(peerKey('::1'), peerKey('::2'));
    });
  });
}
