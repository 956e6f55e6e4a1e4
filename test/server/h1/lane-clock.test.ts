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

/** A node:http server with a fast lane on a fake clock; `/hold` is never answered (a response under way). */
interface TestLane {
  server: Server;
  lane: FastLane;
  port: number;
  clock: FakeClock;
  held: Exchange[];
  /** The statuses the lane refused with (a 408 for a body too slow). */
  refusals: number[];
}

async function startLane(
  limits: Omit<typeof LIMITS, 'requestTimeout'> & { requestTimeout?: number },
): Promise<TestLane> {
  const server = createServer();
  const clock = new FakeClock();
  const held: Exchange[] = [];
  const refusals: number[] = [];
  const lane = new FastLane({
    server,
    maxHeaderSize: 16_384,
    maxRequestsPerSocket: 0,
    ...limits,
    maxBody: 1024,
    closing: () => false,
    clock,
    refused: (_socket, status) => refusals.push(status),
    onRequest: (req, exchange) => {
      if (req.url === '/hold') held.push(exchange);
      else if (req.receivedBody !== undefined)
        exchange.writeKnown({ ...OK, body: `body:${req.receivedBody.toString()}` }, false);
      else exchange.writeKnown({ ...OK, body: `path ${req.url}` }, false);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, lane, port: (server.address() as AddressInfo).port, clock, held, refusals };
}

async function stopLane(t: TestLane): Promise<void> {
  t.lane.close();
  // The lane's own connections are not node's: node's closeAllConnections() does not see them.
  t.lane.destroyAll();
  t.server.closeAllConnections();
  await new Promise<void>((resolve) => t.server.close(() => resolve()));
}

let shared: TestLane;
let clock: FakeClock;
let held: Exchange[];
let refusals: number[];

before(async () => {
  shared = await startLane(LIMITS);
  clock = shared.clock;
  held = shared.held;
  refusals = shared.refusals;
});
after(() => stopLane(shared));

interface TestConnection {
  socket: Socket;
  closed: Promise<void>;
  isClosed: () => boolean;
  /** Everything the server sent on this connection so far. */
  received: () => string;
}

/** A connection, once the server has it (the lane's accept runs on the server's 'connection'). */
async function connection(t: TestLane = shared): Promise<TestConnection> {
  const accepted = new Promise<void>((resolve) => t.server.once('connection', () => resolve()));
  const socket = connect(t.port, '127.0.0.1');
  socket.on('error', () => {});
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
  });
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
  return { socket, closed, isClosed: () => closedFlag, received: () => text };
}

/** Gives the sockets a few turns of the loop to see a close that happened (or did not). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 20));
}

/** Sends a GET and waits for the start of its answer; the answer's text (head and body). */
async function request(socket: Socket, path: string): Promise<string> {
  const reply = new Promise<string>((resolve) =>
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))),
  );
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  return reply;
}

/** Advances `t`'s clock by `ms` in steps of `step`, letting the sockets see each sweep. */
async function advance(t: TestLane, ms: number, step = 100): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    t.clock.advance(Math.min(step, ms - done));
    await settle();
  }
}

describe('fast lane timeouts on a fake clock', { concurrency: false }, () => {
  test('headersTimeout: a connection that sends nothing is closed once the limit (and a sweep) passed', async () => {
    const c = await connection();
    clock.advance(LIMITS.headersTimeout - 100);
    await settle();
    assert.equal(c.isClosed(), false, 'not before the limit');
    clock.advance(1200);
    await c.closed;
    assert.equal(c.received(), '', 'closed without an answer');
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

// Moved here from lane.test.ts, where each slept through the limit in real time.
describe('fast lane timeouts on a fake clock: zero limits, quiet spells, reuse at the limit', () => {
  test('keepAliveTimeout: 0 means no keep-alive limit (as in node), not "close at once"', async () => {
    const t = await startLane({ keepAliveTimeout: 0, headersTimeout: 200, idleTimeout: 0 });
    try {
      const c = await connection(t);
      await request(c.socket, '/one');
      // Many sweeps (every 50 ms with these limits) go by with the connection idle.
      await advance(t, 5000, 250);
      assert.equal(c.isClosed(), false, 'still open after 5 s idle');
      assert.match(await request(c.socket, '/two'), /path \/two/);
    } finally {
      await stopLane(t);
    }
  });

  test('a request within keepAliveTimeout of the last response is answered; past it (and the extra second) the connection closes', async () => {
    const t = await startLane({ keepAliveTimeout: 1000, headersTimeout: 1000, idleTimeout: 0 });
    try {
      const c = await connection(t);
      assert.match(await request(c.socket, '/one'), /Keep-Alive: timeout=1\r\n/);
      await advance(t, 900);
      assert.match(await request(c.socket, '/two'), /path \/two/);
      await advance(t, 2600);
      await c.closed;
    } finally {
      await stopLane(t);
    }
  });

  // The lane's clock is the sweep's, and no sweep runs while the lane holds no connection: a
  // connection accepted after a quiet spell must not start with the time the spell ended at.
  test('after a quiet spell, a new connection still gets its full keepAliveTimeout', async () => {
    const t = await startLane({ keepAliveTimeout: 1000, headersTimeout: 1000, idleTimeout: 0 });
    try {
      t.clock.advance(60_000);
      assert.equal(t.clock.running, false, 'no sweep runs without a connection');
      const c = await connection(t);
      await request(c.socket, '/one');
      await advance(t, 900);
      assert.equal(c.isClosed(), false, 'still open 900 ms after the response');
      assert.match(await request(c.socket, '/two'), /path \/two/);
    } finally {
      await stopLane(t);
    }
  });

  test('after a quiet spell, a new connection still gets its full headersTimeout', async () => {
    const t = await startLane({ keepAliveTimeout: 1000, headersTimeout: 1000, idleTimeout: 0 });
    try {
      t.clock.advance(60_000);
      const c = await connection(t);
      await advance(t, 900);
      assert.equal(c.isClosed(), false, 'still open 900 ms after connecting, under headersTimeout');
      assert.match(await request(c.socket, '/late'), /path \/late/);
    } finally {
      await stopLane(t);
    }
  });

  test('after a quiet spell, a slow answer is not cut off by idleTimeout', async () => {
    const t = await startLane({ keepAliveTimeout: 400, headersTimeout: 400, idleTimeout: 1000 });
    try {
      t.clock.advance(60_000);
      const c = await connection(t);
      c.socket.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
      await settle();
      assert.equal(t.held.length, 1);
      await advance(t, 800);
      assert.equal(c.isClosed(), false, 'not cut 800 ms into the answer, under idleTimeout');
      const reply = new Promise<string>((resolve) =>
        c.socket.once('data', (b: Buffer) => resolve(b.toString())),
      );
      t.held[0]!.writeKnown({ ...OK, body: 'slow' }, false);
      assert.match(await reply, /slow$/);
    } finally {
      await stopLane(t);
    }
  });

  test('a connection reused just before its advertised keep-alive timeout is answered, whatever the sweep phase', async () => {
    const t = await startLane({ keepAliveTimeout: 1000, headersTimeout: 1000, idleTimeout: 0 });
    try {
      // The sweep runs every 250 ms here; responses at 8 phases of it, each reused at 960 ms.
      for (let i = 0; i < 8; i++) {
        await advance(t, 40 + i * 30, 40 + i * 30);
        const c = await connection(t);
        assert.match(await request(c.socket, '/one'), /Keep-Alive: timeout=1\r\n/);
        await advance(t, 960, 120);
        assert.equal(c.isClosed(), false, `phase ${i}: open at 960 ms`);
        assert.match(await request(c.socket, '/two'), /path \/two/, `phase ${i}`);
        c.socket.destroy();
        await c.closed;
      }
    } finally {
      await stopLane(t);
    }
  });
});
