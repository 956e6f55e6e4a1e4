import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { ServeInfo } from '../../src/gateway/types.ts';
import { type ServeOptions, type StrataServer, serve } from '../../src/server.ts';
import { rawRequest } from '../fixtures/http.ts';
import { handshake } from '../fixtures/ws.ts';

// A WebSocket handshake passes the same edge policy as any request (serve.ts `refusal()`, asked
// by node's shouldUpgradeCallback), is logged, and a route without a WebSocket handler does
// not answer it 200.

function makeApp(calls: string[], gate?: Promise<void>) {
  return {
    async fetch(request: Request, info: ServeInfo): Promise<Response> {
      const path = new URL(request.url).pathname;
      calls.push(path);
      if (path === '/slow' && gate !== undefined) await gate;
      if (path === '/ws' && info.upgrade !== undefined) return info.upgrade({ message() {} });
      return new Response(`plain ${path}`);
    },
  };
}

async function withServer(
  options: ServeOptions,
  fn: (server: StrataServer, calls: string[]) => Promise<void>,
  gate?: Promise<void>,
): Promise<void> {
  const calls: string[] = [];
  const server = await serve(makeApp(calls, gate), { port: 0, logger: false, ...options });
  try {
    await fn(server, calls);
  } finally {
    await server.close();
  }
}

for (const fastLane of [true, false]) {
  describe(`WebSocket handshakes meet the edge policy (fastLane: ${fastLane})`, () => {
    const refusals: [name: string, options: ServeOptions, status: number, head: (port: number) => string][] =
      [
        ['deny list', { deny: ['127.0.0.1'] }, 403, (port) => handshake('/ws', port)],
        ['allow list', { allow: ['10.0.0.0/8'] }, 403, (port) => handshake('/ws', port)],
        [
          'host allowlist',
          { allowedHosts: ['good.example'] },
          421,
          (port) => handshake('/ws', port, { Host: 'evil.example' }),
        ],
        [
          'absolute-form authority',
          { allowedHosts: ['good.example'] },
          421,
          (port) => handshake('/ws', port, { Host: 'good.example' }, 'GET http://evil.example/ws HTTP/1.1'),
        ],
        ['target length', { maxUrlLength: 64 }, 414, (port) => handshake(`/ws?${'a'.repeat(100)}`, port)],
        [
          'declared body size',
          { maxBodySize: 1000 },
          413,
          (port) => handshake('/ws', port, { 'Content-Length': '5000' }),
        ],
        [
          'two Host headers',
          {},
          400,
          (port) => handshake('/ws', port).replace('\r\n', '\r\nHost: other\r\n'),
        ],
        ['HTTP/2.0', {}, 505, (port) => handshake('/ws', port, {}, 'GET /ws HTTP/2.0')],
        [
          'header count',
          { maxHeaderCount: 10 },
          431,
          (port) =>
            handshake('/ws', port, Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`X-${i}`, 'v']))),
        ],
      ];
    for (const [name, options, status, head] of refusals) {
      test(`${name}: ${status}, the app never runs, the connection is closed`, async () => {
        await withServer({ fastLane, ...options }, async (server, calls) => {
          const res = await rawRequest(server.port, head(server.port), { timeoutMs: 1500 });
          assert.equal(res.status, status, res.text);
          assert.deepEqual(calls, []);
          assert.ok(res.closed, 'closed after the refusal');
          assert.doesNotMatch(res.text, /101 Switching/);
        });
      });
    }

    test('maxInFlight: a handshake over the cap is a 503 with Retry-After', async () => {
      let open!: () => void;
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      await withServer(
        { fastLane, maxInFlight: 1 },
        async (server, calls) => {
          const slow = rawRequest(server.port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 2000 });
          for (let i = 0; i < 100 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
          const res = await rawRequest(server.port, handshake('/ws', server.port), { timeoutMs: 1500 });
          assert.equal(res.status, 503, res.text);
          assert.match(res.text, /retry-after: 1/i);
          assert.ok(res.closed);
          assert.deepEqual(calls, ['/slow']);
          open();
          assert.equal((await slow).status, 200);
        },
        gate,
      );
    });

    test('a handshake in flight counts against maxInFlight until it ends', async () => {
      await withServer({ fastLane, maxInFlight: 1 }, async (server) => {
        // The handshake completes (101): it no longer counts, a request after it is served.
        const ws = await rawRequest(server.port, handshake('/ws', server.port), { timeoutMs: 300 });
        assert.equal(ws.status, 101);
        const res = await rawRequest(
          server.port,
          'GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
        );
        assert.equal(res.status, 200);
      });
    });

    test('a route with no WebSocket handler answers the handshake 400 and closes, never 200', async () => {
      await withServer({ fastLane }, async (server, calls) => {
        const res = await rawRequest(server.port, handshake('/plain', server.port), { timeoutMs: 1500 });
        assert.equal(res.status, 400, res.text);
        assert.match(res.text, /does not accept WebSocket connections/);
        assert.ok(res.closed);
        assert.deepEqual(calls, ['/plain']);
      });
    });

    test('handshakes reach the access log: 101, refusals, and the 400 of a plain route', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'strata-edge-upgrade-'));
      const file = join(dir, 'access.log');
      try {
        await withServer(
          {
            fastLane,
            deny: ['10.9.9.9'],
            allowedHosts: ['127.0.0.1'],
            accessLog: { format: 'json', destination: file, bufferSize: 0 },
          },
          async (server) => {
            assert.equal(
              (await rawRequest(server.port, handshake('/ws', server.port), { timeoutMs: 300 })).status,
              101,
            );
            const misdirected = handshake('/ws', server.port, { Host: 'evil.example' });
            assert.equal((await rawRequest(server.port, misdirected)).status, 421);
            assert.equal((await rawRequest(server.port, handshake('/plain', server.port))).status, 400);
          },
        );
        const lines = readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { status: number; url: string; method: string });
        assert.deepEqual(lines.map((l) => [l.method, l.url, l.status]).sort(), [
          ['GET', '/plain', 400],
          ['GET', '/ws', 101],
          ['GET', '/ws', 421],
        ]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
