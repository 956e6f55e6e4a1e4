/**
 * HTTP/2 under attack, with a raw client (test/fixtures/h2-raw.ts) against a server in a child
 * process (test/fixtures/h2-attack-server.ts), whose RSS is read after each attack:
 * rapid reset (CVE-2023-44487), CONTINUATION floods (the 2024 class, CVE-2024-27983 and kin),
 * SETTINGS and PING floods, more streams than allowed, a header list over the limit, a window that
 * never opens, a connection never read. Each must end in GOAWAY, a closed connection or reset
 * streams; another client is answered during and after; memory stays bounded. Every loop is
 * bounded in count and in time.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import type { ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { h2cClient, h2request } from '../fixtures/h2.ts';
import {
  ERROR,
  FLAG,
  FRAME,
  type Frame,
  frame,
  getFields,
  headerBlock,
  RawH2,
  SETTING,
} from '../fixtures/h2-raw.ts';

/** RSS growth allowed across one attack, after GC: the session limits and GC slack. */
const RSS_BOUND = 48 * 1024 * 1024;
/** The body of /big: enough that a few unread streams would show if they piled up. */
const BIG = 256 * 1024;
/** idleTimeout of the child: how long a session that moves nothing lives (then GOAWAY, then gone). */
const IDLE = 1000;

// ---- the parent: the attacks -----------------------------------------------------------------

let child: ChildProcess | undefined;
let url = '';
let port = 0;

async function stats(): Promise<{ rss: number; calls: number }> {
  // Twice, a moment apart: V8 frees unreachable buffers' memory in the background after a GC.
  await fetch(`${url}/rss`).then((r) => r.arrayBuffer());
  await new Promise((r) => setTimeout(r, 50));
  return (await (await fetch(`${url}/rss`)).json()) as { rss: number; calls: number };
}

/** A well-behaved HTTP/2 client gets its answer (during an attack, and after it). */
async function normalRequestSucceeds(): Promise<void> {
  const client: ClientHttp2Session = h2cClient(url);
  try {
    const reply = await h2request(client, { ':path': '/' });
    assert.equal(reply.status, 200);
    assert.equal(reply.text, 'ok');
  } finally {
    client.destroy();
  }
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

function ended(c: RawH2): boolean {
  return c.goaway !== undefined || c.closed;
}

function resets(frames: Frame[]): Frame[] {
  return frames.filter((f) => f.type === FRAME.RST_STREAM);
}

before(async () => {
  child = spawn(
    process.execPath,
    ['--expose-gc', join(import.meta.dirname, '../fixtures/h2-attack-server.ts')],
    {
      env: { ...process.env, STRATA_H2_IDLE: String(IDLE), STRATA_H2_BIG: String(BIG) },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child!.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const end = out.indexOf('\n');
      if (end !== -1) resolve(out.slice(0, end));
    });
    child!.once('exit', (code) => reject(new Error(`the server exited (${code})`)));
  });
  ({ url, port } = JSON.parse(line) as { url: string; port: number });
});

after(() => {
  child?.kill('SIGKILL');
});

interface Attack {
  name: string;
  /** Runs the attack on `c`, at most `budgetMs` long, and returns how it ended. */
  run(c: RawH2, budgetMs: number): Promise<void>;
  /** Settings the raw client sends with its preface. */
  settings?: [number, number][];
  /** Whether the raw client reads the socket at all. */
  read?: boolean;
  /** Whether it acknowledges the server's SETTINGS (default: it does). */
  ackSettings?: boolean;
  /** What must hold when it is over (beyond: the process answers others, RSS bounded). */
  check(c: RawH2, callsDuring: number): void;
}

/** Writes `make(i)` for i = 0… until `count`, the connection ends, or `budgetMs` passes. */
async function flood(
  c: RawH2,
  count: number,
  budgetMs: number,
  make: (i: number) => Buffer,
): Promise<number> {
  const deadline = Date.now() + budgetMs;
  let i = 0;
  for (; i < count && !ended(c) && Date.now() < deadline; i++) {
    c.write(make(i));
    if (i % 200 === 199) await yieldToLoop();
  }
  return i;
}

const attacks: Attack[] = [
  {
    name: 'rapid reset (CVE-2023-44487): HEADERS then RST_STREAM, 20,000 times',
    async run(c, budgetMs) {
      const count = 20_000;
      const sent = await flood(c, count, budgetMs, (i) =>
        Buffer.concat([
          frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1 + 2 * i, headerBlock(getFields('/'))),
          frame(FRAME.RST_STREAM, 0, 1 + 2 * i, Buffer.from([0, 0, 0, ERROR.CANCEL])),
        ]),
      );
      await c.until(() => ended(c), 3000);
      assert.ok(sent < count || ended(c), `all ${sent} resets were taken, the connection still open`);
    },
    check(c, calls) {
      // GOAWAY, or the close right behind it: a server that closes with frames of ours unread
      // resets the connection, and the GOAWAY in flight may be lost with it.
      assert.ok(ended(c), 'GOAWAY or closed');
      // The app saw a bounded part of the streams (the reset burst), not all of them.
      assert.ok(calls < 5000, `the app was called ${calls} times`);
    },
  },
  {
    name: 'CONTINUATION flood: a header block that never ends, in empty frames',
    async run(c, budgetMs) {
      c.headers(1, getFields('/'), 0);
      await flood(c, 200_000, budgetMs, () => frame(FRAME.CONTINUATION, 0, 1));
      await c.until(() => ended(c), 3000);
    },
    check(c, calls) {
      assert.ok(ended(c), 'GOAWAY or closed');
      assert.equal(calls, 0);
    },
  },
  {
    name: 'CONTINUATION flood: a header block that never ends, 1 KB fields per frame',
    async run(c, budgetMs) {
      c.headers(1, getFields('/'), 0);
      await flood(c, 20_000, budgetMs, (i) =>
        frame(FRAME.CONTINUATION, 0, 1, headerBlock([[`x-h${i}`, 'v'.repeat(1000)]])),
      );
      await c.until(() => ended(c) || resets(c.frames).length > 0, 3000);
    },
    check(c, calls) {
      assert.ok(ended(c) || resets(c.frames).length > 0, 'GOAWAY, closed, or the stream reset');
      assert.equal(calls, 0);
    },
  },
  {
    name: 'a header list over maxHeaderListSize (HEADERS + CONTINUATION, 20 KB), settings acknowledged',
    async run(c) {
      // The limit binds once the client has acknowledged the server's SETTINGS (RFC 9113 §6.5.3).
      await c.until((frames) => frames.some((f) => f.type === FRAME.SETTINGS && f.flags === FLAG.ACK), 2000);
      await new Promise((r) => setTimeout(r, 20));
      const block = headerBlock([...getFields('/'), ['x-big', 'v'.repeat(20_000)]]);
      c.write(frame(FRAME.HEADERS, FLAG.END_STREAM, 1, block.subarray(0, 10_000)));
      c.write(frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 1, block.subarray(10_000)));
      await c.until((frames) => ended(c) || frames.some((f) => f.stream === 1), 3000);
    },
    check(c, calls) {
      const answer = c.frames.find((f) => f.stream === 1);
      assert.ok(ended(c) || answer?.type === FRAME.RST_STREAM, `no reset: ${JSON.stringify(answer)}`);
      assert.equal(calls, 0);
    },
  },
  {
    name: 'a header list over 64 KB from a client that never acknowledges SETTINGS',
    ackSettings: false,
    async run(c) {
      const block = headerBlock([...getFields('/'), ['x-big', 'v'.repeat(70_000)]]);
      c.write(frame(FRAME.HEADERS, FLAG.END_STREAM, 1, block.subarray(0, 16_000)));
      for (let at = 16_000; at < block.length; at += 16_000) {
        const last = at + 16_000 >= block.length;
        c.write(frame(FRAME.CONTINUATION, last ? FLAG.END_HEADERS : 0, 1, block.subarray(at, at + 16_000)));
      }
      await c.until((frames) => ended(c) || frames.some((f) => f.stream === 1), 3000);
    },
    check(c, calls) {
      const answer = c.frames.find((f) => f.stream === 1);
      assert.ok(ended(c) || answer?.type === FRAME.RST_STREAM, `no reset: ${JSON.stringify(answer)}`);
      assert.equal(calls, 0);
    },
  },
  {
    name: 'SETTINGS flood: 200,000 SETTINGS frames',
    async run(c, budgetMs) {
      await flood(c, 200_000, budgetMs, () => frame(FRAME.SETTINGS, 0, 0));
      await c.until(() => ended(c), 3000);
    },
    check(c) {
      assert.ok(ended(c), 'GOAWAY or closed');
    },
  },
  {
    name: 'PING flood: 200,000 PINGs',
    async run(c, budgetMs) {
      await flood(c, 200_000, budgetMs, () => frame(FRAME.PING, 0, 0, Buffer.alloc(8)));
      await c.until(() => ended(c), 3000);
    },
    check(c) {
      assert.ok(ended(c), 'GOAWAY or closed');
    },
  },
  {
    name: 'more streams than maxConcurrentStreams, each for a 256 KB body',
    async run(c) {
      for (let i = 0; i < 400 && !ended(c); i++) c.headers(1 + 2 * i, getFields('/big'));
      await c.until(() => ended(c), 5000);
    },
    check(c, calls) {
      assert.ok(resets(c.frames).length > 0, 'streams over the limits are refused');
      assert.ok(c.goaway !== undefined, 'GOAWAY after too many refused streams');
      assert.ok(calls <= 128, `the app was called ${calls} times`);
    },
  },
  {
    name: 'a window that never opens (SETTINGS_INITIAL_WINDOW_SIZE 0), 50 streams for 256 KB',
    settings: [[SETTING.INITIAL_WINDOW_SIZE, 0]],
    async run(c) {
      for (let i = 0; i < 50; i++) c.headers(1 + 2 * i, getFields('/big'));
      await c.whenClosed(IDLE * 6);
    },
    check(c) {
      assert.ok(c.closed, 'the session is closed once idle');
    },
  },
  {
    name: 'a client that opens streams and never reads',
    read: false,
    async run(c) {
      for (let i = 0; i < 100; i++) c.headers(1 + 2 * i, getFields('/big'));
      // Idle for IDLE (GOAWAY, which cannot leave), then gone IDLE later: a paused socket sees
      // the close only once it reads again.
      await new Promise((r) => setTimeout(r, IDLE * 3));
      await c.readAndWaitClosed(IDLE * 3);
    },
    check(c) {
      assert.ok(c.closed, 'the session is closed once idle');
    },
  },
];

describe('HTTP/2 under attack', () => {
  for (const attack of attacks) {
    test(attack.name, async () => {
      const before = await stats();
      const c = await RawH2.open(port, {
        ...(attack.settings !== undefined && { settings: attack.settings }),
        ...(attack.read !== undefined && { read: attack.read }),
        ...(attack.ackSettings !== undefined && { ackSettings: attack.ackSettings }),
      });
      try {
        // Another client is answered while the attack runs, and after.
        await Promise.all([attack.run(c, 5000), normalRequestSucceeds()]);
        await normalRequestSucceeds();
        const afterAttack = await stats();
        attack.check(c, afterAttack.calls - before.calls - 2);
        const grown = afterAttack.rss - before.rss;
        assert.ok(grown < RSS_BOUND, `RSS grew by ${(grown / 1048576).toFixed(1)} MiB`);
      } finally {
        c.destroy();
      }
    });
  }

  test('after every attack, the process still answers HTTP/1.1 and HTTP/2', async () => {
    assert.equal((await fetch(`${url}/`)).status, 200);
    await normalRequestSucceeds();
  });
});
