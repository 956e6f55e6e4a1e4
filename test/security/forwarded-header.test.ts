/**
 * `trustProxyHeader`: a proxy writes one forwarding header and passes the other on from the
 * client untouched. Naming the one it writes makes the other ignored entirely — for the client
 * address, `info.secure`, `deny` and the access log — so a client cannot hide behind the proxy's
 * address by sending it; the default `both` believes a hop only where the two agree. Over real
 * sockets, on both transports (the test client is the trusted proxy: it connects from loopback).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { ServeInfo } from '../../src/gateway/index.ts';
import { type ServeOptions, serve } from '../../src/server.ts';
import { rawRequest } from '../fixtures/http.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-forwarded-header-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const app = (request: Request, info: ServeInfo) =>
  Response.json({ remote: info.remote.address, secure: info.secure, scheme: new URL(request.url).protocol });

/** One request per header set, through a server with `options`; answers and access-log lines. */
async function ask(
  options: ServeOptions,
  requests: Record<string, string>[],
  fastLane: boolean,
): Promise<
  { status: number; body: { remote: string; secure: boolean; scheme: string } | undefined; log: string }[]
> {
  const file = join(dir, `access-${++files}.log`);
  const server = await serve(app, {
    port: 0,
    logger: false,
    fastLane,
    trustProxy: ['loopback'],
    accessLog: { format: 'json', destination: file, bufferSize: 0 },
    ...options,
  });
  const out: { status: number; body: { remote: string; secure: boolean; scheme: string } | undefined }[] = [];
  try {
    for (const headers of requests) {
      const lines = Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      const reply = await rawRequest(
        server.port,
        `GET / HTTP/1.1\r\nHost: x\r\n${lines}Connection: close\r\n\r\n`,
      );
      const body = reply.text.slice(reply.text.indexOf('\r\n\r\n') + 4);
      out.push({ status: reply.status, body: reply.status === 200 ? JSON.parse(body) : undefined });
    }
  } finally {
    await server.close();
  }
  const logged = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { remote: string }).remote);
  assert.equal(logged.length, requests.length);
  return out.map((r, i) => ({ ...r, log: logged[i]! }));
}

// What nginx with `X-Forwarded-For $proxy_add_x_forwarded_for` sends for a client at
// 203.0.113.9 that wrote its own Forwarded (and X-Forwarded-Proto, overwritten by nginx).
const XFF_PROXY = {
  'X-Forwarded-For': '203.0.113.9',
  'X-Forwarded-Proto': 'https',
  Forwarded: 'for=198.51.100.7;proto=http',
};
// A proxy that writes RFC 7239 Forwarded, for a client that wrote its own X-Forwarded-*.
const FORWARDED_PROXY = {
  Forwarded: 'for=203.0.113.9;proto=https',
  'X-Forwarded-For': '198.51.100.7',
  'X-Forwarded-Proto': 'http',
};

for (const fastLane of [true, false]) {
  describe(`trustProxyHeader (fastLane: ${fastLane})`, () => {
    test("'x-forwarded-for': the proxy's X-Forwarded-For and -Proto, a client's Forwarded ignored", async () => {
      const [both, onlyForwarded] = await ask(
        { trustProxyHeader: 'x-forwarded-for' },
        [XFF_PROXY, { Forwarded: 'for=198.51.100.7;proto=https' }],
        fastLane,
      );
      assert.deepEqual(both!.body, { remote: '203.0.113.9', secure: true, scheme: 'https:' });
      assert.equal(both!.log, '203.0.113.9');
      // Forwarded alone is not read at all: the peer, and the socket's scheme.
      assert.deepEqual(onlyForwarded!.body, { remote: '127.0.0.1', secure: false, scheme: 'http:' });
      assert.equal(onlyForwarded!.log, '127.0.0.1');
    });

    test("'forwarded': the proxy's Forwarded, a client's X-Forwarded-* ignored", async () => {
      const [both, onlyXff] = await ask(
        { trustProxyHeader: 'forwarded' },
        [FORWARDED_PROXY, { 'X-Forwarded-For': '198.51.100.7', 'X-Forwarded-Proto': 'https' }],
        fastLane,
      );
      assert.deepEqual(both!.body, { remote: '203.0.113.9', secure: true, scheme: 'https:' });
      assert.equal(both!.log, '203.0.113.9');
      assert.deepEqual(onlyXff!.body, { remote: '127.0.0.1', secure: false, scheme: 'http:' });
      assert.equal(onlyXff!.log, '127.0.0.1');
    });

    test("'both' (the default): two headers that disagree leave the peer and the socket's scheme", async () => {
      for (const options of [{}, { trustProxyHeader: 'both' as const }]) {
        const [xff, fwd, agree] = await ask(
          options,
          [XFF_PROXY, FORWARDED_PROXY, { 'X-Forwarded-For': '203.0.113.9', Forwarded: 'for=203.0.113.9' }],
          fastLane,
        );
        assert.deepEqual(xff!.body, { remote: '127.0.0.1', secure: false, scheme: 'http:' });
        assert.deepEqual(fwd!.body, { remote: '127.0.0.1', secure: false, scheme: 'http:' });
        assert.equal(agree!.body!.remote, '203.0.113.9');
      }
    });

    test('deny acts on the address of the named header: a client-sent Forwarded does not dodge it', async () => {
      const deny = ['203.0.113.0/24'];
      const [named] = await ask({ deny, trustProxyHeader: 'x-forwarded-for' }, [XFF_PROXY], fastLane);
      assert.equal(named!.status, 403);
      assert.equal(named!.log, '203.0.113.9');
      // Under 'both' the client is seen as the proxy (the gap the option closes).
      const [dodged] = await ask({ deny }, [XFF_PROXY], fastLane);
      assert.equal(dodged!.status, 200);
    });
  });
}

test('a trustProxyHeader that is not one of the three is refused', async () => {
  await assert.rejects(
    serve(app, { port: 0, logger: false, trustProxyHeader: 'x-real-ip' as never }),
    /trustProxyHeader must be one of 'x-forwarded-for', 'forwarded', 'both'/,
  );
});
