/**
 * The fault test of issue 19: three upstreams (node:http servers in child processes) under
 * steady load from keep-alive clients through strata's proxy. One dies (SIGKILL) and comes back
 * on the same port; one hangs (SIGSTOP: the kernel still accepts and takes requests, nothing
 * answers) and resumes (SIGCONT). In both: not one idempotent request fails, the faulty upstream
 * leaves the rotation after at most `maxFails` failed attempts in a row, no attempt starts on it
 * while it is out, and the active check brings it back.
 *
 * Bounded: every wait has a deadline and the load stops with the test.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { Agent, get } from 'node:http';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  type Outcome,
  type Upstream,
  UpstreamGroup,
  type UpstreamGroupOptions,
  type UpstreamState,
} from '../../src/proxy/balance/index.ts';
import { type StrataServer, serve } from '../../src/server.ts';

const CHILD = join(import.meta.dirname, '..', 'fixtures', 'proxy', 'upstream-child.ts');
const MAX_FAILS = 2;
const CLIENTS = 6;

/** The upstream children by name. */
class Upstreams {
  readonly #children = new Map<string, ChildProcess>();
  readonly ports = new Map<string, number>();

  async start(name: string, port = 0): Promise<number> {
    const child = fork(CHILD, [name, String(port)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.#children.set(name, child);
    const [message] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(() => {
        throw new Error(`upstream ${name} exited before listening on ${port}`);
      }),
    ])) as [{ port: number }];
    this.ports.set(name, message.port);
    return message.port;
  }

  async kill(name: string): Promise<void> {
    const child = this.#children.get(name)!;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  signal(name: string, signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.#children.get(name)!.kill(signal);
  }

  killAll(): void {
    for (const child of this.#children.values()) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

/** A group that records what the proxy does with it. */
class RecordingGroup extends UpstreamGroup {
  /** begin() on an upstream that was not available: must stay empty. */
  readonly violations: string[] = [];
  /** Failed attempts in a row per upstream (reset by an ok), while it was in the rotation. */
  readonly failsInRotation = new Map<Upstream, number>();
  /** The most failures in a row an upstream took before leaving the rotation. */
  readonly failsBeforeRemoval = new Map<Upstream, number>();
  readonly changes: { id: string; state: UpstreamState; reason: string }[] = [];

  constructor(options: UpstreamGroupOptions) {
    super(options);
    this.onChange((u, state, reason) => this.changes.push({ id: u.id, state, reason }));
  }

  override begin(upstream: Upstream): void {
    if (!upstream.available) this.violations.push(`began on ${upstream.id} in state ${upstream.state}`);
    super.begin(upstream);
  }

  override end(upstream: Upstream, outcome: Outcome, ms: number): void {
    const before = upstream.available;
    super.end(upstream, outcome, ms);
    if (!before) return;
    if (outcome === 'ok') {
      this.failsInRotation.set(upstream, 0);
      return;
    }
    const fails = (this.failsInRotation.get(upstream) ?? 0) + 1;
    this.failsInRotation.set(upstream, fails);
    if (!upstream.available) {
      this.failsBeforeRemoval.set(upstream, Math.max(fails, this.failsBeforeRemoval.get(upstream) ?? 0));
    }
  }
}

/** Keep-alive clients sending GET / in a loop, counting who answered and what failed. */
class Load {
  readonly served = new Map<string, number>();
  readonly failed: string[] = [];
  ok = 0;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  readonly #loops: Promise<void>[] = [];
  #stopped = false;
  readonly #deadline = Date.now() + 25_000;
  readonly #url: string;

  constructor(url: string) {
    this.#url = url;
    for (let i = 0; i < CLIENTS; i++) this.#loops.push(this.#loop());
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
    this.#agent.destroy();
  }

  async #loop(): Promise<void> {
    while (!this.#stopped && Date.now() < this.#deadline) {
      const result = await this.#get();
      if (result.status !== 200) {
        this.failed.push(`${result.status} ${result.body.slice(0, 200)}`);
        continue;
      }
      this.ok++;
      const { name } = JSON.parse(result.body) as { name: string };
      this.served.set(name, (this.served.get(name) ?? 0) + 1);
    }
  }

  #get(): Promise<{ status: number; body: string }> {
    return new Promise((resolve) => {
      const req = get(this.#url, { agent: this.#agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, body: `response ${err.code}` }));
      });
      req.on('error', (err: NodeJS.ErrnoException) =>
        resolve({ status: 0, body: `request ${err.code ?? err.message}` }),
      );
    });
  }
}

/** Waits until `ready()` holds, checking every 10 ms, failing with `what` after `ms`. */
async function until(what: string, ready: () => boolean, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Rig {
  upstreams: Upstreams;
  group: RecordingGroup;
  server: StrataServer;
  load: Load;
  byName: (name: string) => Upstream;
}

async function rig(): Promise<Rig> {
  const upstreams = new Upstreams();
  const names = ['a', 'b', 'c'];
  for (const name of names) await upstreams.start(name);
  const group = new RecordingGroup({
    name: 'fault',
    upstreams: names.map((n) => `http://127.0.0.1:${upstreams.ports.get(n)}`),
    // The active check is slower to notice than traffic (its timeout is twice the proxy's),
    // so passive ejection is what takes a faulty upstream out, and the active check what brings
    // it back.
    health: { uri: '/healthz', intervalMs: 100, timeoutMs: 1000, passes: 2, fails: 2 },
    passive: { maxFails: MAX_FAILS, failTimeoutMs: 2000 },
    retry: { attempts: 2, withinMs: 5000 },
  });
  const server = await serve(
    { fetch: () => new Response('not proxied', { status: 404 }) },
    {
      port: 0,
      host: '127.0.0.1',
      logger: false,
      proxy: {
        groups: [group],
        routes: [{ path: '/', to: 'fault' }],
        connectTimeout: 500,
        headersTimeout: 500,
      },
    },
  );
  const byName = (name: string): Upstream => group.upstreams[names.indexOf(name)]!;
  const load = new Load(`${server.url}/work`);
  cleanup.push(async () => {
    await load.stop();
    await server.close();
    await group.close();
    upstreams.killAll();
  });
  await until('every upstream to serve 20 requests', () =>
    names.every((n) => (load.served.get(n) ?? 0) >= 20),
  );
  return { upstreams, group, server, load, byName };
}

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const step of cleanup) await step();
});

/** The fault, then the recovery, with the assertions both cases share. */
async function fault(
  r: Rig,
  name: string,
  breakIt: () => Promise<void>,
  repair: () => Promise<void>,
): Promise<void> {
  const { group, load } = r;
  const target = r.byName(name);
  await breakIt();
  await until(`${name} to leave the rotation`, () => !target.available);
  await until(`the active check to find ${name} unhealthy`, () => target.state === 'unhealthy');
  // The others carry the load for a while (a few hundred requests, the ejection runs out).
  const okBefore = load.ok;
  await until('300 requests served by the others', () => load.ok >= okBefore + 300);
  assert.equal(target.available, false, `${name} still out while broken (state ${target.state})`);
  const servedBefore = load.served.get(name) ?? 0;
  await repair();
  await until(`${name} to be healthy again`, () => target.state === 'healthy');
  await until(`${name} to serve 20 requests again`, () => (load.served.get(name) ?? 0) >= servedBefore + 20);
  await load.stop();

  assert.deepEqual(load.failed, [], 'no client request failed');
  assert.deepEqual(group.violations, [], 'no attempt began on an upstream out of the rotation');
  const fails = group.failsBeforeRemoval.get(target);
  const mine = group.changes.filter((c) => c.id === target.id);
  assert.equal(mine[0]?.state, 'ejected', `passive checks took it out first: ${JSON.stringify(mine)}`);
  assert.equal(fails, MAX_FAILS, 'ejected by maxFails failed attempts in a row');
  assert.ok(mine.some((c) => c.state === 'unhealthy'));
  const back = mine.at(-1)!;
  assert.equal(back.state, 'healthy');
  assert.match(back.reason, /^health check: status 200$/, 're-admitted by the active check');
}

test('an upstream killed with SIGKILL under load is ejected, then re-admitted when it restarts', async () => {
  const r = await rig();
  const port = r.upstreams.ports.get('b')!;
  await fault(
    r,
    'b',
    () => r.upstreams.kill('b'),
    async () => {
      assert.equal(await r.upstreams.start('b', port), port);
    },
  );
});

test('an upstream that hangs (SIGSTOP) under load is ejected, then re-admitted when it resumes', async () => {
  const r = await rig();
  await fault(
    r,
    'c',
    async () => r.upstreams.signal('c', 'SIGSTOP'),
    async () => r.upstreams.signal('c', 'SIGCONT'),
  );
});
