/**
 * The edge policy as a table: each refusal (and a pass) for the same request on both transports,
 * for an ordinary request and for a WebSocket handshake; then EdgePolicy alone, as a function of
 * (head, peer, state).
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import type { ServeInfo } from '../../src/gateway/types.ts';
import { createLogger } from '../../src/observe/logger.ts';
import { AddressList } from '../../src/server/client-address.ts';
import { EdgePolicy, hostMatcher, Refusal } from '../../src/server/edge-policy.ts';
import { ServerState } from '../../src/server/server-state.ts';
import { type ServeOptions, serve } from '../../src/server.ts';
import { rawRequest } from '../fixtures/http.ts';
import { handshake } from '../fixtures/ws.ts';

const app = {
  fetch(request: Request, info: ServeInfo): Response {
    if (info.upgrade !== undefined && new URL(request.url).pathname === '/ws')
      return info.upgrade({ message() {} });
    return new Response('passed');
  },
};

const get = (path: string, host = 'x', extra = ''): string =>
  `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;

// [name, options, request, status]: the same answer on both transports.
const TABLE: [string, ServeOptions, (port: number) => string, number][] = [
  ['pass', {}, () => get('/'), 200],
  ['deny', { deny: ['127.0.0.1'] }, () => get('/'), 403],
  ['allow (not listed)', { allow: ['10.0.0.0/8'] }, () => get('/'), 403],
  ['allow (listed)', { allow: ['127.0.0.0/8'] }, () => get('/'), 200],
  ['allowedHosts', { allowedHosts: ['good.example'] }, () => get('/', 'evil.example'), 421],
  ['allowedHosts (match)', { allowedHosts: ['*.example'] }, () => get('/', 'a.example'), 200],
  ['maxUrlLength', { maxUrlLength: 16 }, () => get(`/${'a'.repeat(20)}`), 414],
  [
    'maxBodySize (declared)',
    { maxBodySize: 4 },
    () => 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello',
    413,
  ],
  ['maxHeaderCount', { maxHeaderCount: 2 }, () => get('/', 'x', 'A: 1\r\nB: 2\r\n'), 431],
  [
    'Transfer-Encoding not ending in chunked',
    {},
    () => 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n',
    400,
  ],
  [
    'Transfer-Encoding: chunked and a NBSP (not OWS: not chunked)',
    {},
    () => 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\u00a0\r\n\r\n0\r\n\r\n',
    400,
  ],
  ['repeated Host', {}, () => 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
  ['maxInFlight 0 is no cap', { maxInFlight: 0 }, () => get('/'), 200],
  ['ws: deny', { deny: ['127.0.0.1'] }, (port) => handshake('/ws', port), 403],
  [
    'ws: allowedHosts',
    { allowedHosts: ['good.example'] },
    (port) => handshake('/ws', port, { Host: 'evil.example' }),
    421,
  ],
  ['ws: maxUrlLength', { maxUrlLength: 16 }, (port) => handshake(`/ws?${'a'.repeat(20)}`, port), 414],
  ['ws: pass', {}, (port) => handshake('/ws', port), 101],
];

for (const fastLane of [true, false]) {
  describe(`the edge policy's table (fastLane: ${fastLane})`, { concurrency: true }, () => {
    for (const [name, options, request, status] of TABLE) {
      test(`${name} → ${status}`, async () => {
        const server = await serve(app, { port: 0, logger: false, fastLane, ...options });
        try {
          const reply = await rawRequest(server.port, request(server.port), { timeoutMs: 1500 });
          assert.equal(reply.status, status, reply.text.slice(0, 200));
        } finally {
          await server.close();
        }
      });
    }
  });
}

describe('EdgePolicy alone: a function of head, peer and state', () => {
  const log = createLogger({ level: 'silent' });
  const req = (over: Partial<{ url: string; rawHeaders: string[]; address: string; method: string }> = {}) =>
    ({
      method: over.method ?? 'GET',
      url: over.url ?? '/',
      rawHeaders: over.rawHeaders ?? ['Host', 'x'],
      headers: { host: 'x' },
      httpVersionMajor: 1,
      httpVersionMinor: 1,
      socket: { remoteAddress: over.address ?? '10.0.0.1' },
    }) as unknown as IncomingMessage;
  const policy = (state: ServerState, extra: Partial<ConstructorParameters<typeof EdgePolicy>[0]> = {}) =>
    new EdgePolicy(
      { maxHeaderCount: 100, maxUrlLength: 100, maxBodySize: 10, retryAfter: 1, log, ...extra },
      state,
    );

  test('the order of the checks: pressure, peer, head, host, target, body, capacity', () => {
    const state = new ServerState(1);
    const pressure = { underPressure: true };
    const p = policy(state, {
      pressure,
      deny: new AddressList(['10.0.0.1']),
      hostAllowed: hostMatcher(['good.example']),
    });
    assert.equal(p.refusal(req(), false), Refusal.OVERLOADED);
    pressure.underPressure = false;
    assert.equal(p.refusal(req(), false), Refusal.FORBIDDEN);
    assert.equal(
      p.refusal(req({ address: '10.0.0.2', rawHeaders: ['Host', 'a', 'Host', 'b'] }), false),
      Refusal.BAD_REQUEST,
    );
    assert.equal(p.refusal(req({ address: '10.0.0.2' }), false), Refusal.MISDIRECTED);
    const ok = policy(state);
    assert.equal(ok.refusal(req({ url: `/${'a'.repeat(100)}` }), false), Refusal.URI_TOO_LONG);
    assert.equal(
      ok.refusal(req({ rawHeaders: ['Host', 'x', 'Content-Length', '11'] }), false),
      Refusal.TOO_LARGE,
    );
    // On the lane, the parser vouched for the head and the body's length.
    assert.equal(ok.refusal(req({ rawHeaders: ['Host', 'x', 'Content-Length', '11'] }), true), Refusal.PASS);
    assert.equal(ok.refusal(req(), false), Refusal.PASS);
    state.enter();
    assert.equal(ok.refusal(req(), false), Refusal.AT_CAPACITY);
    state.leave();
    assert.equal(ok.refusal(req(), true), Refusal.PASS);
  });

  test('Transfer-Encoding codings are compared after OWS (SP, HTAB) only: a NBSP keeps `chunked` from being chunked', () => {
    const ok = policy(new ServerState(0));
    const te = (value: string) =>
      ok.refusal(req({ method: 'POST', rawHeaders: ['Host', 'x', 'Transfer-Encoding', value] }), false);
    assert.equal(te('chunked'), Refusal.PASS);
    assert.equal(te(' \tchunked '), Refusal.PASS);
    assert.equal(te('chunked\u00a0'), Refusal.BAD_REQUEST);
    assert.equal(te('\u000bchunked'), Refusal.BAD_REQUEST);
  });
});
