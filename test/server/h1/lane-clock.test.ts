/**
 * The fast lane's timeouts on a fake clock (LaneOptions.clock): each limit is checked by
 * advancing time, not by sleeping — headersTimeout for a connection that sends nothing,
 * keepAliveTimeout (+ node 24's extra second) between requests, idleTimeout while a response is
 * under way, and the sweep stopping once no connection is left.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastParts } from '../../../src/gateway/fast-response.ts';
import { type Exchange, FastLane, type LaneClock } from '../../../src/server/h1/lane.ts';

class FakeClock implements LaneClock {
  time = 1_000_000;
  ticks: { ms: number; tick: () => void; next: number }[] = [];
  now(): number {
    return this.time;
  }
  every(ms: number, tick: () => void): () => void {
    const entry = { ms, tick, next: this.time + ms };
    this.ticks.push(entry);
    return () => {
      this.ticks = this.ticks.filter((t) => t !== entry);
    };
  }
  /** Moves time on by `ms`, running each sweep that falls due, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.ticks.filter((t) => t.next <= end).sort((a, b) => a.next - b.next)[0];
      if (due === undefined) break;
      this.time = due.next;
      due.next += due.ms;
      due.tick();
    }
    this.time = end;
  }
  get running(): boolean {
    return this.ticks.length > 0;
  }
}

const OK: FastParts = {
  status: 200,
  statusText: '',
  headers: undefined,
  body: 'ok',
  contentType: 'text/plain',
};
const LIMITS = { headersTimeout: 2000, keepAliveTimeout: 3000, idleTimeout: 4000, requestTimeout: 10_000 };
const clock = new FakeClock();
const held: Exchange[] = [];
const refusals: number[] = [];
let server: Server;
let lane: FastLane;
let port: number;

before(async () => {
  server = createServer();
  lane = new FastLane({
    server,
    maxHeaderSize: 16_384,
    maxRequestsPerSocket: 0,
    ...LIMITS,
    maxBody: 1024,
    closing: () => false,
    clock,
    refused: (_socket, status) => refusals.push(status),
    onRequest: (req, exchange) => {
      // `/hold` is never answered: a response under way.
      if (req.url === '/hold') held.push(exchange);
      else if (req.receivedBody !== undefined)
        exchange.writeKnown({ ...OK, body: `body:${req.receivedBody.toString()}` }, false);
      else exchange.writeKnown(OK, false);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  lane.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A connection, once the server has it (the lane's accept runs on the server's 'connection'). */
async function connection(): Promise<{ socket: Socket; closed: Promise<void>; isClosed: () => boolean }> {
  const accepted = new Promise<void>((resolve) => server.once('connection', () => resolve()));
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  let closedFlag = false;
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closedFlag = true;
      resolve();
    }),
  );
  await accepted;
  // The lane's listener ran before this one: let its accept settle.
  await new Promise((resolve) => setImmediate(resolve));
  return { socket, closed, isClosed: () => closedFlag };
}

/** Gives the sockets a few turns of the loop to see a close that happened (or did not). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 20));
}

async function request(socket: Socket, path: string): Promise<void> {
  const reply = new Promise<void>((resolve) => socket.once('data', () => resolve()));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  await reply;
}

describe('fast lane timeouts on a fake clock', { concurrency: false }, () => {
  test('headersTimeout: a connection that sends nothing is closed once the limit (and a sweep) passed', async () => {
    const c = await connection();
    clock.advance(LIMITS.headersTimeout - 100);
    await settle();
    assert.equal(c.isClosed(), false, 'not before the limit');
    clock.advance(1200);
    await c.closed;
  });

  test('keepAliveTimeout: idle between requests, closed a second after the advertised timeout', async () => {
    const c = await connection();
    await request(c.socket, '/a');
    clock.advance(LIMITS.keepAliveTimeout + 500);
    await settle();
    assert.equal(c.isClosed(), false, "within node 24's extra second");
    await request(c.socket, '/b');
    clock.advance(LIMITS.keepAliveTimeout + 1000 + 1000);
    await c.closed;
  });

  test('idleTimeout: a response under way with no byte moving is cut', async () => {
    const c = await connection();
    c.socket.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
    await settle();
    assert.equal(held.length, 1);
    clock.advance(LIMITS.idleTimeout - 500);
    await settle();
    assert.equal(c.isClosed(), false, 'not before idleTimeout');
    clock.advance(1500);
    await c.closed;
  });

  test('a body after its head is gathered on the lane, however slowly, within the limits', async () => {
    const c = await connection();
    const reply = new Promise<string>((resolve) => c.socket.once('data', (d) => resolve(d.toString())));
    c.socket.write('POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nab');
    for (const part of ['c', 'd', 'e']) {
      await settle();
      // Each pause shorter than idleTimeout, the whole shorter than requestTimeout.
      clock.advance(LIMITS.idleTimeout - 1500);
      c.socket.write(part);
    }
    await settle();
    assert.equal(c.isClosed(), false);
    c.socket.write('f');
    assert.match(await reply, /^HTTP\/1\.1 200 OK[\s\S]*body:abcdef$/);
    c.socket.destroy();
    await c.closed;
  });

  test('requestTimeout: a body still incomplete is answered 408 and the connection closed', async () => {
    const c = await connection();
    let text = '';
    c.socket.on('data', (d) => {
      text += d.toString();
    });
    c.socket.write('POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab');
    // A byte now and then: never idle, but the request as a whole is too slow.
    for (let i = 0; i < 3; i++) {
      await settle();
      clock.advance(3000);
      c.socket.write('x');
    }
    await settle();
    assert.equal(c.isClosed(), false, 'not before requestTimeout');
    clock.advance(2000);
    await c.closed;
    assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.deepEqual(refusals, [408]);
  });

  test('idleTimeout: a body that stops arriving is cut', async () => {
    const c = await connection();
    c.socket.write('POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab');
    await settle();
    clock.advance(LIMITS.idleTimeout - 500);
    await settle();
    assert.equal(c.isClosed(), false, 'not before idleTimeout');
    clock.advance(1500);
    await c.closed;
  });

  test('the sweep stops once the lane holds no connection, and starts again with the next', async () => {
    await settle();
    clock.advance(5000);
    assert.equal(clock.running, false);
    const c = await connection();
    assert.equal(clock.running, true);
    c.socket.destroy();
    await c.closed;
  });
});
