/**
 * The conformance suite: ONE set of cases, run over real sockets against the ONE fixture app
 * (test/fixtures/conformance-app.ts) as each server serves it — strata's `serve()`, plain
 * `node:http` through the gateway, Bun and Deno — each started as a child process on 127.0.0.1
 * (a launcher per runtime in test/fixtures/conformance/).
 *
 * Each run records pass/fail per case; with STRATA_CONFORMANCE_RESULTS set to a folder, it
 * writes `<runtime>.json` there (what `npm run conformance:matrix` turns into the table of
 * docs/portability.md), and it always checks its own column of that committed table.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CASES, type CaseId, KNOWN, parseMatrix, RUNTIMES, type RuntimeId, SYMBOL } from './matrix.ts';

export const ROOT = join(import.meta.dirname, '..', '..');

/** How to start one runtime's launcher. */
export interface Launcher {
  command: string;
  args: string[];
  /** Why the runtime cannot run here, or undefined when it can. */
  missing(): string | undefined;
}

/** A binary of node_modules/.bin that answers `--version`. */
export function binaryMissing(name: string): string | undefined {
  const bin = join(ROOT, 'node_modules', '.bin', name);
  if (!existsSync(bin)) return `${name} is not installed (npm install -D ${name})`;
  const probe = spawnSync(bin, ['--version'], { timeout: 15_000, encoding: 'utf8' });
  if (probe.status !== 0) return `${bin} --version failed: ${probe.error?.message ?? probe.stderr}`;
  return undefined;
}

export function binary(name: string): string {
  return join(ROOT, 'node_modules', '.bin', name);
}

/**
 * How each runtime's launcher (test/fixtures/conformance/) is started. Deno's permissions are the
 * ones a strata app needs: net, read (its modules), env, and sys=hostname (pino reads
 * `os.hostname()` when it loads); a `RedisBroker` to 127.0.0.1 needs nothing more.
 */
export const LAUNCHERS: Record<RuntimeId, Launcher> = {
  strata: {
    command: process.execPath,
    args: ['test/fixtures/conformance/strata.ts'],
    missing: () => undefined,
  },
  'node-http': {
    command: process.execPath,
    args: ['test/fixtures/conformance/node-http.ts'],
    missing: () => undefined,
  },
  bun: {
    command: binary('bun'),
    args: ['run', 'test/fixtures/conformance/bun.ts'],
    missing: () => binaryMissing('bun'),
  },
  deno: {
    command: binary('deno'),
    args: [
      'run',
      '--allow-net=127.0.0.1',
      '--allow-read',
      '--allow-env',
      '--allow-sys=hostname',
      'test/fixtures/conformance/deno.ts',
    ],
    missing: () => binaryMissing('deno'),
  },
};

/** The running server under test. */
export interface Target {
  child: ChildProcess;
  port: number;
  base: string;
  stdout: () => string;
  exited: Promise<number | null>;
}

/** Starts a launcher and waits for the port it prints; `env` is added to the child's environment. */
export async function start(launcher: Launcher, env: Record<string, string> = {}): Promise<Target> {
  const child = spawn(launcher.command, launcher.args, {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no port within 20 s; stderr: ${err}`)), 20_000);
    const poll = setInterval(() => {
      const m = /CONFORMANCE-LISTENING (\d+)/.exec(out);
      if (m !== null) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    }, 10);
    void exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`launcher exited (${code}) before listening; stderr: ${err}`));
    });
  });
  return { child, port, base: `http://127.0.0.1:${port}`, stdout: () => out, exited };
}

/** Polls `/state` until `check` holds (bounded: 3 s). */
async function waitForState(
  t: Target,
  check: (s: Record<string, number>) => boolean,
): Promise<Record<string, number>> {
  const deadline = Date.now() + 3000;
  let last: Record<string, number> = {};
  while (Date.now() < deadline) {
    last = (await (await fetch(`${t.base}/state`)).json()) as Record<string, number>;
    if (check(last)) return last;
    await sleep(25);
  }
  assert.fail(`state never matched: ${JSON.stringify(last)}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function problem(res: Response, status: number): Promise<Record<string, unknown>> {
  assert.equal(res.status, status);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.status, status);
  return body;
}

/** A WebSocket client whose messages are queued (Node's global WebSocket). */
export class Client {
  ws: WebSocket;
  messages: string[] = [];
  #waiters: (() => void)[] = [];
  opened: Promise<void>;
  closed: Promise<{ code: number }>;

  constructor(url: string, protocols?: string[]) {
    this.ws = new WebSocket(url, protocols);
    this.ws.binaryType = 'arraybuffer';
    this.opened = new Promise((resolve, reject) => {
      this.ws.addEventListener('open', () => resolve(), { once: true });
      this.ws.addEventListener('error', () => reject(new Error(`WebSocket ${url} failed to open`)), {
        once: true,
      });
    });
    this.closed = new Promise((resolve) =>
      this.ws.addEventListener('close', (e) => resolve({ code: e.code }), { once: true }),
    );
    this.ws.addEventListener('message', (e) => {
      this.messages.push(typeof e.data === 'string' ? e.data : `bytes:${(e.data as ArrayBuffer).byteLength}`);
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** The next message (bounded: 3 s). */
  async next(): Promise<string> {
    const deadline = Date.now() + 3000;
    while (this.messages.length === 0) {
      if (Date.now() > deadline) assert.fail('no WebSocket message within 3 s');
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 100);
      });
    }
    return this.messages.shift()!;
  }

  close(): void {
    this.ws.close();
  }
}

/** A raw HTTP/1.1 exchange: the request written, the socket kept (for `info.remote`, aborts). */
interface RawExchange {
  localPort: number;
  /** Everything received, once the server closes. */
  response: Promise<string>;
  /** What has been received so far, once it matches `pattern` (bounded: 3 s). */
  received(pattern: RegExp): Promise<string>;
  destroy(): void;
}

function rawRequest(port: number, head: string): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head);
      let data = '';
      const received = async (pattern: RegExp): Promise<string> => {
        const deadline = Date.now() + 3000;
        while (!pattern.test(data)) {
          if (Date.now() > deadline) assert.fail(`never received ${pattern}: ${JSON.stringify(data)}`);
          await sleep(10);
        }
        return data;
      };
      const response = new Promise<string>((done) => {
        socket.setEncoding('utf8');
        socket.on('data', (d: string) => {
          data += d;
        });
        socket.on('close', () => done(data));
        socket.on('end', () => done(data));
      });
      resolve({ localPort: socket.localPort!, response, received, destroy: () => socket.destroy() });
    });
    socket.once('error', reject);
  });
}

type CaseFn = (t: Target) => Promise<void>;

/** The cases, by id (the ids and titles of matrix.ts), in the order they run. */
const RUN: Record<CaseId, CaseFn> = {
  async routing(t) {
    const res = await fetch(`${t.base}/`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello');
    await problem(await fetch(`${t.base}/nowhere`), 404);
    const wrongMethod = await fetch(`${t.base}/echo-method`);
    assert.equal(wrongMethod.status, 405);
    assert.match(wrongMethod.headers.get('allow') ?? '', /POST/);
    const head = await fetch(`${t.base}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
  },
  async params(t) {
    assert.deepEqual(await (await fetch(`${t.base}/users/42`)).json(), { id: '42' });
    assert.deepEqual(await (await fetch(`${t.base}/users/a%20b`)).json(), { id: 'a b' });
    assert.deepEqual(await (await fetch(`${t.base}/files/a/b.txt`)).json(), { path: '/files/a/b.txt' });
  },
  async validation(t) {
    const ok = await fetch(`${t.base}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Ada', age: 36 }),
    });
    assert.equal(ok.status, 201);
    assert.deepEqual(await ok.json(), { created: { name: 'Ada', age: 36 } });
    const bad = await fetch(`${t.base}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: '', age: -1 }),
    });
    await problem(bad, 400);
    await problem(await fetch(`${t.base}/search?q=x`), 400);
    assert.deepEqual(await (await fetch(`${t.base}/search?q=xy`)).json(), { q: 'xy' });
  },
  async cookies(t) {
    const set = await fetch(`${t.base}/cookies/set`);
    const cookies = set.headers.getSetCookie();
    assert.equal(cookies.length, 2, JSON.stringify(cookies));
    assert.match(cookies[0]!, /^plain=one; /);
    assert.match(cookies[0]!, /HttpOnly/i);
    const jar = cookies.map((c) => c.split(';')[0]).join('; ');
    assert.deepEqual(await (await fetch(`${t.base}/cookies/read`, { headers: { cookie: jar } })).json(), {
      plain: 'one',
      sig: 'two',
    });
    const forged = jar.replace(/sig=([^;]*)/, 'sig=two.forged');
    assert.deepEqual(await (await fetch(`${t.base}/cookies/read`, { headers: { cookie: forged } })).json(), {
      plain: 'one',
      sig: null,
    });
  },
  async errors(t) {
    const teapot = await problem(await fetch(`${t.base}/teapot`), 418);
    assert.equal(teapot.detail ?? teapot.title, "I'm a teapot");
    const crash = await problem(await fetch(`${t.base}/crash`), 500);
    assert.doesNotMatch(JSON.stringify(crash), /boom|at /, 'no error detail leaks in production');
  },
  async 'body-parsing'(t) {
    const json = await fetch(`${t.base}/body`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":[1,2]}',
    });
    assert.deepEqual(await json.json(), { kind: 'fields', fields: { a: [1, 2] } });
    const form = await fetch(`${t.base}/body`, { method: 'POST', body: new URLSearchParams('x=1&x=2&y=3') });
    assert.deepEqual(await form.json(), { kind: 'fields', fields: { x: ['1', '2'], y: '3' } });
    const text = await fetch(`${t.base}/body`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'héllo',
    });
    assert.deepEqual(await text.json(), { kind: 'text', text: 'héllo' });
    const bytes = await fetch(`${t.base}/body`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(1000),
    });
    assert.deepEqual(await bytes.json(), { kind: 'bytes', length: 1000 });
    await problem(
      await fetch(`${t.base}/body`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{',
      }),
      400,
    );
    const big = await fetch(`${t.base}/body`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `"${'x'.repeat(1.1 * 1024 * 1024)}"`,
    });
    assert.equal(big.status, 413);
  },
  async multipart(t) {
    const form = new FormData();
    form.append('title', 'report');
    form.append('file', new Blob(['a,b\n1,2\n'], { type: 'text/csv' }), '../../etc/data.csv');
    const res = await fetch(`${t.base}/body`, { method: 'POST', body: form });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      kind: 'fields',
      fields: {
        title: 'report',
        file: { filename: 'data.csv', size: 8, type: 'text/csv', text: 'a,b\n1,2\n' },
      },
    });
  },
  async sse(t) {
    const res = await fetch(`${t.base}/sse`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const text = await res.text();
    const events = text.split('\n\n').filter((e) => e.includes('data:'));
    assert.equal(events.length, 3, text);
    assert.match(events[2]!, /id: 3\nevent: tick\ndata: \{"i":3\}|event: tick\nid: 3\ndata: \{"i":3\}/);
  },
  async streaming(t) {
    const res = await fetch(`${t.base}/stream`);
    assert.equal(res.headers.get('content-length'), null, 'a stream of unknown length is not given one');
    const reader = res.body!.getReader();
    let text = '';
    let reads = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      reads++;
      text += new TextDecoder().decode(value);
    }
    assert.equal(text, 'chunk0;chunk1;chunk2;chunk3;chunk4;');
    assert.ok(reads >= 2, `chunks arrive as they are produced (${reads} reads)`);
  },
  async 'wait-until'(t) {
    const before = (await (await fetch(`${t.base}/state`)).json()) as Record<string, number>;
    const res = await fetch(`${t.base}/wait?ms=30`, { method: 'POST' });
    assert.equal(res.status, 202);
    await waitForState(t, (s) => s.waitUntilDone! > before.waitUntilDone!);
  },
  async 'request-signal'(t) {
    const before = (await (await fetch(`${t.base}/state`)).json()) as Record<string, number>;
    const raw = await rawRequest(t.port, 'GET /hang HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    // The app is waiting on the request before the client leaves.
    await waitForState(t, (s) => s.hanging! > before.hanging!);
    raw.destroy();
    await waitForState(t, (s) => s.aborted! > before.aborted!);
  },
  async 'info-remote'(t) {
    const raw = await rawRequest(
      t.port,
      'GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    );
    const text = await raw.response;
    const body = JSON.parse(
      text.slice(text.indexOf('\r\n\r\n') + 4).replace(/^[0-9a-f]+\r\n|\r\n0\r\n\r\n$/g, ''),
    );
    assert.deepEqual(body, {
      remote: { address: '127.0.0.1', port: raw.localPort, family: 'IPv4' },
      protocol: 'http/1.1',
      secure: false,
      hasWaitUntil: true,
      route: '/info',
    });
  },
  async 'lifespan-startup'(t) {
    const state = (await (await fetch(`${t.base}/state`)).json()) as Record<string, number>;
    assert.equal(state.started, 1, 'startup ran once, before the first request');
  },
  async 'websocket-rooms'(t) {
    const wsBase = t.base.replace('http', 'ws');
    const a = new Client(`${wsBase}/ws/lobby?name=a`);
    const b = new Client(`${wsBase}/ws/lobby?name=b`);
    const other = new Client(`${wsBase}/ws/kitchen?name=c`);
    try {
      await Promise.all([a.opened, b.opened, other.opened]);
      assert.deepEqual(JSON.parse(await a.next()), { joined: 'lobby', subs: ['lobby'] });
      assert.deepEqual(JSON.parse(await b.next()), { joined: 'lobby', subs: ['lobby'] });
      await other.next();
      a.ws.send('hi');
      assert.equal(await b.next(), 'a:hi');
      b.ws.send(new Uint8Array(3));
      assert.equal(await a.next(), 'b:bytes:3');
      a.ws.send('echo');
      assert.equal(await a.next(), 'echo:echo', 'a publisher does not hear its own publish');
      const res = await fetch(`${t.base}/announce/lobby`, { method: 'POST', body: 'tea' });
      assert.equal(res.status, 202);
      assert.deepEqual(await res.json(), { subscribers: 2 });
      assert.equal(await a.next(), 'server:tea');
      assert.equal(await b.next(), 'server:tea');
      await sleep(50);
      assert.deepEqual(other.messages, [], 'another room hears nothing');
    } finally {
      a.close();
      b.close();
      other.close();
    }
    await Promise.all([a.closed, b.closed, other.closed]);
  },
  async 'websocket-handshake'(t) {
    const wsBase = t.base.replace('http', 'ws');
    const proto = new Client(`${wsBase}/ws-proto`, ['v0', 'v1']);
    await proto.opened;
    assert.equal(proto.ws.protocol, 'v1');
    proto.ws.send('which');
    assert.equal(await proto.next(), 'v1');
    proto.close();
    await proto.closed;
    // The 101 carries the route's headers.
    const raw = await rawRequest(
      t.port,
      'GET /ws/lobby HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const head = await raw.received(/\r\n\r\n/);
    raw.destroy();
    assert.match(head, /^HTTP\/1\.1 101/);
    assert.match(head, /\r\nx-room: lobby\r\n/i);
    assert.match(head, /\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/i);
    // A route without a WebSocket handler refuses the handshake.
    const refused = new Client(`${wsBase}/`);
    await assert.rejects(refused.opened);
    await refused.closed;
  },
  async 'websocket-vetting'(t) {
    const handshake = (extra: string) =>
      rawRequest(
        t.port,
        `GET /ws/lobby HTTP/1.1\r\nHost: 127.0.0.1:${t.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${extra}\r\n`,
      );
    const KEY = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    const status = async (extra: string): Promise<string> => {
      const raw = await handshake(extra);
      const head = await raw.received(/\r\n\r\n/);
      raw.destroy();
      return head.slice(9, 12);
    };
    assert.equal(await status(`${KEY}Sec-WebSocket-Version: 13\r\nOrigin: http://evil.example\r\n`), '403');
    assert.equal(
      await status(`${KEY}Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:${t.port}\r\n`),
      '101',
    );
    assert.equal(await status(`${KEY}Sec-WebSocket-Version: 8\r\n`), '426');
    assert.equal(await status('Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n'), '400');
  },
  async 'lifespan-shutdown'(t) {
    const before = (await (await fetch(`${t.base}/state`)).json()) as Record<string, number>;
    const res = await fetch(`${t.base}/wait?ms=300`, { method: 'POST' });
    assert.equal(res.status, 202);
    t.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      t.exited,
      new Promise<'timeout'>((r) => {
        timer = setTimeout(() => r('timeout'), 10_000);
      }),
    ]);
    clearTimeout(timer);
    assert.notEqual(code, 'timeout', `the server exits after SIGTERM; stdout: ${t.stdout()}`);
    const m = /CONFORMANCE-SHUTDOWN (.*)/.exec(t.stdout());
    assert.ok(m !== null, `the shutdown hook ran: ${t.stdout()}`);
    const state = JSON.parse(m[1]!) as Record<string, number>;
    assert.equal(state.waitUntilDone, before.waitUntilDone! + 1, 'waitUntil work finished before shutdown');
  },
};

/** Registers the suite for one runtime. */
export function conformance(runtime: RuntimeId, launcher: Launcher): void {
  const label = RUNTIMES[runtime];
  const missing = launcher.missing();
  describe(`conformance: ${label}`, { timeout: 60_000 }, () => {
    if (missing !== undefined) {
      if (process.env.CI === 'true') {
        it(`${label} is available`, () => assert.fail(`${label} is missing under CI=true: ${missing}`));
      } else {
        it(`${label} is missing here: ${missing} (skipped; fails under CI=true)`, {
          skip: missing,
        }, () => {});
      }
      return;
    }
    let target: Target;
    const results: Partial<Record<CaseId, 'pass' | 'fail' | 'known'>> = {};
    before(async () => {
      target = await start(launcher);
    });
    after(async () => {
      if (target !== undefined && target.child.exitCode === null) {
        target.child.kill('SIGKILL');
        await target.exited;
      }
    });
    for (const id of Object.keys(CASES) as CaseId[]) {
      const known = KNOWN[runtime]?.[id];
      it(`${id}: ${CASES[id]}`, async () => {
        try {
          await RUN[id](target);
          results[id] = 'pass';
        } catch (err) {
          results[id] = known !== undefined ? 'known' : 'fail';
          if (known === undefined) throw err;
          return;
        }
        assert.equal(known, undefined, `${id} passes on ${label} now: remove it from KNOWN in matrix.ts`);
      });
    }
    it('matches its column of the matrix in docs/portability.md', () => {
      const dir = process.env.STRATA_CONFORMANCE_RESULTS;
      if (dir !== undefined && dir !== '') {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, `${runtime}.json`), `${JSON.stringify(results, null, 2)}\n`);
      }
      const committed = parseMatrix(readFileSync(join(ROOT, 'docs', 'portability.md'), 'utf8'));
      const column: Record<string, string> = {};
      const expected: Record<string, string> = {};
      for (const id of Object.keys(CASES) as CaseId[]) {
        column[id] = committed[id]?.[runtime] ?? '(missing)';
        expected[id] = SYMBOL[results[id] ?? 'fail'];
      }
      assert.deepEqual(column, expected, 'the committed matrix is stale: run `npm run conformance:matrix`');
    });
  });
}
