/**
 * A WebSocket client that never reads must not make the server buffer without bound: past
 * `maxBufferedBytes` per socket its messages are dropped or it is closed with 1013, whether the
 * messages come from a publish, from `ws.send` in a loop, or from a broker. The memory cases run
 * the server in a child process (this file, with STRATA_WS_BP_CHILD set) and read its RSS.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { ServerWebSocket } from '../../src/gateway/websocket.ts';
import { App } from '../../src/index.ts';
import { ClusterBroker, MemoryBroker } from '../../src/realtime/index.ts';
import { type StrataServer, serve } from '../../src/server.ts';
import { waitFor } from '../fixtures/http.ts';
import { clientFrame, handshake, openClient, type TestClient, wsUrl } from '../fixtures/ws.ts';

const CHUNK = 64 * 1024;
/** Messages of CHUNK bytes per flood: 96 MiB, far beyond the bounds below. */
const FLOOD = 1500;
/** The cap under test (the default, 4 MiB). */
const MAX_BUFFERED = 4 * 1024 * 1024;
/** RSS growth allowed during a flood: the cap, a healthy reader's window and GC slack. */
const RSS_BOUND = 32 * 1024 * 1024;
/** Buffers still held after a GC: the cap (4 MiB) and what a healthy reader has in flight. */
const BUFFERS_BOUND = 16 * 1024 * 1024;

// ---- the child: a server with a room, a send loop, its RSS and its metrics --------------------

async function runChild(mode: 'close' | 'drop'): Promise<void> {
  const app = new App();
  const room = new Set<ServerWebSocket>();
  app.get('/room', (c) =>
    c.upgrade({
      open(ws) {
        ws.subscribe('room');
        room.add(ws);
      },
      message(ws, data) {
        ws.publish('room', data);
      },
      close(ws) {
        room.delete(ws);
      },
    }),
  );
  // The misuse the cap must survive: send in a loop, ignoring -1.
  app.get('/loop', (c) =>
    c.upgrade({
      message(ws) {
        let refused = 0;
        // A new message each time, as an app that renders one per send makes.
        for (let i = 0; i < FLOOD; i++) if (ws.send(Buffer.alloc(CHUNK, i)) === 0) refused += 1;
        process.stdout.write(`${JSON.stringify({ msg: 'loop done', refused })}\n`);
      },
    }),
  );
  app.get('/rss', async (c) => {
    // Full collections first (V8 frees unreachable Buffers' memory in the background after a GC,
    // so twice, a moment apart): what is left is what the server holds, not garbage.
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
    gc?.();
    const m = process.memoryUsage();
    let queued = 0;
    for (const ws of room) queued += ws.bufferedAmount;
    return c.json({ rss: m.rss, arrayBuffers: m.arrayBuffers, queued });
  });
  app.get('/metrics', async (c) => c.text((await server.metrics?.text()) ?? ''));
  const server: StrataServer = await serve(app, {
    port: 0,
    metrics: true,
    // Long enough that a slow machine's test still reads the 1013 before ws gives up on the
    // closing handshake and destroys the socket (which would drop the queued close frame).
    websocket: { onBackpressure: mode, closeTimeout: 30_000 },
  } as Parameters<typeof serve>[1]);
}

// The child defines no tests (node:test would run them in the child too).
if (process.env.STRATA_WS_BP_CHILD !== undefined)
  await runChild(process.env.STRATA_WS_BP_CHILD as 'close' | 'drop');
else defineTests();

// ---- helpers ----------------------------------------------------------------------------------

interface Child {
  process: ChildProcess;
  url: string;
  port: number;
  lines: () => string;
}

function startChild(mode: 'close' | 'drop'): Promise<Child> {
  const child = spawn(process.execPath, ['--expose-gc', import.meta.filename], {
    // glibc: 64 KiB and larger blocks are mmap'd, and given back when freed, so that RSS follows
    // what the server holds rather than the allocator's fragmentation.
    env: { ...process.env, STRATA_WS_BP_CHILD: mode, MALLOC_MMAP_THRESHOLD_: '65536' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (err += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the child did not listen: ${err}`)), 15_000);
    child.stdout!.on('data', () => {
      const url = /"url":"(http:\/\/[^"]+)"/.exec(out)?.[1];
      if (url === undefined) return;
      clearTimeout(timer);
      resolve({ process: child, url, port: Number(new URL(url).port), lines: () => out });
    });
    child.on('exit', (code) => reject(new Error(`the child exited (${code}): ${err}`)));
  });
}

interface Memory {
  rss: number;
  arrayBuffers: number;
  /** The sum of the room's sockets' `bufferedAmount`. */
  queued: number;
}

async function memoryOf(child: Child): Promise<Memory> {
  const res = await fetch(`${child.url}/rss`);
  return (await res.json()) as Memory;
}

const MiB = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** The server's memory grew by less than the bounds: RSS, and the Buffers it still holds after a GC. */
function assertBounded(before: Memory, after: Memory): void {
  const rss = after.rss - before.rss;
  const buffers = after.arrayBuffers - before.arrayBuffers;
  assert.ok(rss < RSS_BOUND, `server RSS grew by ${MiB(rss)}`);
  assert.ok(buffers < BUFFERS_BOUND, `the server holds ${MiB(buffers)} more in Buffers`);
  assert.ok(after.queued <= MAX_BUFFERED + CHUNK, `the room's sockets have ${MiB(after.queued)} queued`);
}

async function backpressureCount(url: string, action: 'close' | 'drop'): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^strata_websocket_backpressure_total\\{action="${action}"\\} (\\d+)`, 'm').exec(text);
  return m === null ? Number.NaN : Number(m[1]);
}

/**
 * A raw client that completes the handshake and then reads nothing (its socket is paused), so
 * the kernel's buffers fill and the server has to queue. `drain()` starts reading: it counts the
 * server's frames without keeping them, keeps small text payloads, and notes the close code.
 */
interface SlowClient {
  socket: Socket;
  messages: number;
  texts: string[];
  closeCode: number | undefined;
  ended: Promise<void>;
  send(text: string): void;
  drain(): void;
}

function slowClient(port: number, path: string): Promise<SlowClient> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const ended = new Promise<void>((r) => socket.on('close', () => r()));
    let head = Buffer.alloc(0);
    // Frame parser state (server frames are unmasked, RFC 6455 §5.2).
    let header: number[] = [];
    let remaining = 0;
    let opcode = 0;
    let keep: Buffer[] | undefined;
    const client: SlowClient = {
      socket,
      messages: 0,
      texts: [],
      closeCode: undefined,
      ended,
      send: (text) => socket.write(clientFrame(1, Buffer.from(text))),
      drain: () => socket.resume(),
    };
    const endFrame = (): void => {
      const payload = keep === undefined ? undefined : Buffer.concat(keep);
      if (opcode === 8)
        client.closeCode = payload !== undefined && payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      else if (opcode === 1 || opcode === 2) {
        client.messages += 1;
        if (opcode === 1 && payload !== undefined) client.texts.push(payload.toString('utf8'));
      }
      header = [];
      keep = undefined;
    };
    const frames = (chunk: Buffer): void => {
      let i = 0;
      while (i < chunk.length) {
        if (remaining > 0) {
          const n = Math.min(remaining, chunk.length - i);
          keep?.push(chunk.subarray(i, i + n));
          remaining -= n;
          i += n;
          if (remaining === 0) endFrame();
          continue;
        }
        header.push(chunk[i]!);
        i += 1;
        if (header.length < 2) continue;
        const len7 = header[1]! & 0x7f;
        const need = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
        if (header.length < need) continue;
        opcode = header[0]! & 0x0f;
        remaining =
          len7 === 126
            ? (header[2]! << 8) | header[3]!
            : len7 === 127
              ? Number(Buffer.from(header.slice(2, 10)).readBigUInt64BE())
              : len7;
        keep = remaining <= 1024 ? [] : undefined;
        if (remaining === 0) endFrame();
      }
    };
    let upgraded = false;
    socket.on('data', (chunk: Buffer) => {
      if (upgraded) return frames(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      if (!head.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 101')) {
        reject(new Error(`no upgrade: ${head.toString('latin1', 0, end)}`));
        return;
      }
      upgraded = true;
      socket.pause();
      resolve(client);
      frames(head.subarray(end + 4));
    });
    socket.on('connect', () => socket.write(handshake(path, port)));
  });
}

/** A client that counts what it receives (a healthy reader), and can wait for a count. */
interface CountingClient extends TestClient {
  received(): number;
  /** Resolves once `count` messages have arrived; rejects after `timeoutMs`. */
  until(count: number, timeoutMs?: number): Promise<void>;
}

async function countingClient(url: string): Promise<CountingClient> {
  const client = await openClient(url);
  let received = 0;
  let waiting: { count: number; resolve: () => void } | undefined;
  client.ws.on('message', () => {
    received += 1;
    if (waiting !== undefined && received >= waiting.count) {
      waiting.resolve();
      waiting = undefined;
    }
  });
  return Object.assign(client, {
    received: () => received,
    until: (count: number, timeoutMs = 10_000) =>
      received >= count
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`the reader has ${received} of ${count} messages`)),
              timeoutMs,
            );
            waiting = {
              count,
              resolve: () => {
                clearTimeout(timer);
                resolve();
              },
            };
          }),
  });
}

/**
 * `publisher` sends FLOOD messages of CHUNK bytes; at most `window` of them are ahead of what
 * `reader` has received, so the healthy reader never nears the cap.
 */
async function flood(publisher: TestClient, reader: CountingClient, window = 32): Promise<void> {
  const payload = Buffer.alloc(CHUNK, 7);
  const start = reader.received();
  for (let sent = 0; sent < FLOOD; sent++) {
    if (sent >= window) await reader.until(start + sent - window + 1);
    publisher.ws.send(payload);
  }
  await reader.until(start + FLOOD);
}

// ---- the tests ----------------------------------------------------------------------------------

function defineTests(): void {
  describe('a client that never reads (close mode, the default)', () => {
    let child: Child;
    before(async () => {
      child = await startChild('close');
    });
    after(() => child?.process.kill('SIGKILL'));

    test('a publish flood: RSS stays bounded, the slow socket gets 1013, the publisher keeps working', async (t) => {
      const slow = await slowClient(child.port, '/room');
      t.after(() => slow.socket.destroy());
      const reader = await countingClient(wsUrl(child.url, '/room'));
      const publisher = await countingClient(wsUrl(child.url, '/room'));
      const before = await memoryOf(child);
      await flood(publisher, reader);
      assertBounded(before, await memoryOf(child));
      // The publisher and the healthy reader are still open and served.
      assert.equal(publisher.ws.readyState, 1);
      assert.equal(reader.ws.readyState, 1);
      assert.equal(reader.received(), FLOOD);
      // The slow client, once it reads, finds what fitted in the buffers and then a 1013.
      slow.drain();
      await waitFor(() => slow.closeCode !== undefined, 5000, 'the close frame');
      assert.equal(slow.closeCode, 1013);
      assert.ok(slow.messages < FLOOD, `the slow client got ${slow.messages} of ${FLOOD} messages`);
      assert.equal(await backpressureCount(child.url, 'close'), 1);
      assert.match(child.lines(), /over maxBufferedBytes, closing with 1013/);
      slow.socket.destroy();
      publisher.ws.close();
      reader.ws.close();
    });

    test('ws.send in a loop that ignores -1: RSS stays bounded and the socket gets 1013', async (t) => {
      const slow = await slowClient(child.port, '/loop');
      t.after(() => slow.socket.destroy());
      const before = await memoryOf(child);
      slow.send('go');
      await waitFor(() => child.lines().includes('"loop done"'), 10_000, 'the send loop');
      assertBounded(before, await memoryOf(child));
      const refused = Number(/"msg":"loop done","refused":(\d+)/.exec(child.lines())?.[1]);
      assert.ok(refused > FLOOD / 2, `send returned 0 for ${refused} messages once the socket was closed`);
      slow.drain();
      await waitFor(() => slow.closeCode !== undefined, 5000, 'the close frame');
      assert.equal(slow.closeCode, 1013);
      slow.socket.destroy();
    });
  });

  describe('a client that never reads (drop mode)', () => {
    let child: Child;
    before(async () => {
      child = await startChild('drop');
    });
    after(() => child?.process.kill('SIGKILL'));

    test('its messages are dropped, not queued; it stays open and gets messages again once it reads', async (t) => {
      const slow = await slowClient(child.port, '/room');
      t.after(() => slow.socket.destroy());
      const reader = await countingClient(wsUrl(child.url, '/room'));
      const publisher = await countingClient(wsUrl(child.url, '/room'));
      const before = await memoryOf(child);
      await flood(publisher, reader);
      assertBounded(before, await memoryOf(child));
      const dropped = await backpressureCount(child.url, 'drop');
      assert.ok(dropped > FLOOD / 2, `${dropped} messages dropped`);
      slow.drain();
      // Once it has read its backlog, new messages reach it again.
      const deadline = Date.now() + 5000;
      while (!slow.texts.includes('after') && Date.now() < deadline) {
        publisher.ws.send('after');
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(
        slow.texts.includes('after'),
        'a message published after the backlog reached the slow client',
      );
      assert.equal(slow.closeCode, undefined, 'not closed');
      assert.ok(slow.messages < FLOOD, `the slow client got ${slow.messages} of ${FLOOD} messages`);
      slow.socket.destroy();
      publisher.ws.close();
      reader.ws.close();
    });
  });

  describe('messages that arrive through a broker are capped too', () => {
    const brokers: [string, () => { feed: (data: Buffer) => void; broker: MemoryBroker | ClusterBroker }][] =
      [
        [
          'a memory broker shared with another server',
          () => {
            const broker = new MemoryBroker();
            return { broker, feed: (data) => broker.publish('room', data, 'another-server') };
          },
        ],
        [
          'the cluster broker (a publish relayed by the primary)',
          () => {
            let deliver: (payload: unknown) => void = () => {};
            const broker = new ClusterBroker({
              send() {},
              on(_type, fn) {
                deliver = fn;
              },
            });
            return {
              broker,
              feed: (data) =>
                deliver({ topic: 'room', data: data.toString('base64'), binary: true, origin: 'worker-2' }),
            };
          },
        ],
      ];
    for (const [name, make] of brokers) {
      test(name, async (t) => {
        const { broker, feed } = make();
        const app = new App();
        app.get('/room', (c) =>
          c.upgrade({
            open(ws) {
              ws.subscribe('room');
            },
            message() {},
          }),
        );
        await using server = await serve(app, {
          port: 0,
          logger: false,
          broker,
          websocket: { maxBufferedBytes: 256 * 1024, backpressureLimit: 64 * 1024 },
        });
        const slow = await slowClient(server.port, '/room');
        t.after(() => slow.socket.destroy());
        const payload = Buffer.alloc(CHUNK, 1);
        // Well past the kernel's buffers and the cap; yield now and then so the socket can close.
        for (let i = 0; i < 600 && slow.closeCode === undefined; i++) {
          feed(payload);
          if (i % 50 === 49) await new Promise((r) => setImmediate(r));
        }
        slow.drain();
        await waitFor(() => slow.closeCode !== undefined, 5000, 'the close frame');
        assert.equal(slow.closeCode, 1013);
        slow.socket.destroy();
      });
    }
  });

  test('the options: onBackpressure is close or drop, and the cap may not be under backpressureLimit', async () => {
    const { resolveWebSocketOptions, REALTIME_DEFAULTS } = await import('../../src/realtime/index.ts');
    assert.equal(REALTIME_DEFAULTS.onBackpressure, 'close');
    assert.equal(REALTIME_DEFAULTS.maxBufferedBytes, MAX_BUFFERED);
    assert.throws(() => resolveWebSocketOptions({ onBackpressure: 'ignore' as never }), /onBackpressure/);
    assert.throws(
      () => resolveWebSocketOptions({ maxBufferedBytes: 1024, backpressureLimit: 4096 }),
      /maxBufferedBytes/,
    );
    // Raising only backpressureLimit raises the cap with it.
    assert.equal(
      resolveWebSocketOptions({ backpressureLimit: 8 * MAX_BUFFERED }).maxBufferedBytes,
      8 * MAX_BUFFERED,
    );
  });
}
