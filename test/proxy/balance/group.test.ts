import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  BalanceError,
  type Outcome,
  type PickContext,
  type ProbeResult,
  type Upstream,
  UpstreamGroup,
  type UpstreamGroupOptions,
  type UpstreamState,
} from '../../../src/proxy/balance/index.ts';

const URLS = ['http://127.0.0.1:3001', 'http://127.0.0.1:3002', 'http://127.0.0.1:3003'];

function context(
  remote = '192.0.2.1',
  headers: Record<string, string> = {},
  cookies: Record<string, string> = {},
): PickContext {
  return { remote, header: (name) => headers[name], cookie: (name) => cookies[name] };
}

/** A group on a clock the test steps, recording every state change. */
function setup(options: Partial<UpstreamGroupOptions> = {}) {
  const clock = { t: 1_000_000 };
  const changes: string[] = [];
  const group = new UpstreamGroup({
    upstreams: URLS,
    now: () => clock.t,
    onChange: (u, state, reason) => changes.push(`${u.url.port} ${state}: ${reason}`),
    ...options,
  });
  return { group, clock, changes };
}

/** One attempt: pick, begin, end with `outcome`. */
function attempt(group: UpstreamGroup, outcome: Outcome, ctx = context(), ms = 1): Upstream | undefined {
  const u = group.pick(ctx);
  if (u === undefined) return undefined;
  group.begin(u);
  group.end(u, outcome, ms);
  return u;
}

function ports(list: (Upstream | undefined)[]): string {
  return list.map((u) => u?.url.port ?? '-').join(' ');
}

describe('UpstreamGroup', () => {
  test('keeps the contract: name, upstreams with ids, weights and counts, retry defaults', () => {
    const group = new UpstreamGroup({ name: 'api', upstreams: [URLS[0]!, { url: URLS[1]!, weight: 3 }] });
    assert.equal(group.name, 'api');
    assert.deepEqual(
      group.upstreams.map((u) => [u.id, u.weight, u.active, u.available, u.state]),
      [
        ['http://127.0.0.1:3001', 1, 0, true, 'healthy'],
        ['http://127.0.0.1:3002', 3, 0, true, 'healthy'],
      ],
    );
    assert.deepEqual(group.retry, {
      attempts: 2,
      withinMs: 10_000,
      on: ['connect-error', 'reset', 'timeout'],
    });
    assert.equal(new UpstreamGroup({ upstreams: URLS, retry: false }).retry.attempts, 0);
  });

  test('begin and end count requests in flight; least connections reads them', () => {
    const { group } = setup({ balance: 'least-connections' });
    const a = group.pick(context())!;
    group.begin(a);
    const b = group.pick(context())!;
    group.begin(b);
    assert.notEqual(a, b);
    assert.deepEqual(
      group.upstreams.map((u) => u.active),
      [1, 1, 0],
    );
    assert.equal(group.pick(context())!.url.port, '3003');
    group.end(a, 'ok', 5);
    assert.equal(group.pick(context()), a);
  });

  test('round robin by default, weighted when asked', () => {
    const rr = setup().group;
    assert.equal(ports(Array.from({ length: 4 }, () => rr.pick(context()))), '3001 3002 3003 3001');
    const weighted = new UpstreamGroup({
      upstreams: [{ url: URLS[0]!, weight: 5 }, URLS[1]!, URLS[2]!],
      balance: 'weighted',
    });
    assert.equal(
      ports(Array.from({ length: 7 }, () => weighted.pick(context()))),
      '3001 3001 3002 3001 3003 3001 3001',
    );
  });

  test('sticky by header, cookie and client address; no key falls back to round robin', () => {
    const byHeader = setup({ balance: { hash: 'header', name: 'X-User' } }).group;
    const alice = context('192.0.2.1', { 'x-user': 'alice' });
    const first = byHeader.pick(alice);
    for (let i = 0; i < 10; i++) assert.equal(byHeader.pick(alice), first);
    assert.equal(ports(Array.from({ length: 3 }, () => byHeader.pick(context()))), '3001 3002 3003');

    const byCookie = setup({ balance: { hash: 'cookie', name: 'sid' } }).group;
    const users = Array.from({ length: 60 }, (_, i) => context('192.0.2.1', {}, { sid: `s${i}` }));
    const homes = users.map((c) => byCookie.pick(c));
    assert.equal(new Set(homes).size, 3, 'sessions spread over all three');
    assert.deepEqual(
      users.map((c) => byCookie.pick(c)),
      homes,
    );

    const byClient = setup({ balance: { hash: 'client' } }).group;
    const home = byClient.pick(context('2001:db8::7'));
    for (let i = 0; i < 5; i++) assert.equal(byClient.pick(context('2001:db8::7')), home);
    const clients = Array.from({ length: 30 }, (_, i) => `198.51.100.${i}`);
    assert.deepEqual(
      clients.map((a) => byClient.pick(context(`::ffff:${a}`))),
      clients.map((a) => byClient.pick(context(a))),
      'an IPv4-mapped address is its IPv4 address',
    );
  });

  test('sticky: an ejected home moves its sessions, and they come back when it does', () => {
    const { group, clock } = setup({
      balance: { hash: 'cookie', name: 'sid' },
      passive: { maxFails: 1, failTimeoutMs: 1000 },
    });
    const users = Array.from({ length: 90 }, (_, i) => context('192.0.2.1', {}, { sid: `s${i}` }));
    const homes = users.map((c) => group.pick(c)!);
    const down = homes[0]!;
    group.begin(down);
    group.end(down, 'connect-error', 1);
    assert.equal(down.state, 'ejected');
    users.forEach((c, i) => {
      const now = group.pick(c)!;
      if (homes[i] === down) assert.notEqual(now, down);
      else assert.equal(now, homes[i], 'sessions elsewhere stay put');
    });
    clock.t += 1000;
    assert.deepEqual(
      users.map((c) => group.pick(c)),
      homes,
    );
  });

  test('exclude: a retry goes elsewhere; undefined when everything was tried', () => {
    const { group } = setup();
    const tried = new Set<Upstream>();
    for (let i = 0; i < 3; i++) {
      const u = group.pick(context(), tried)!;
      assert.ok(!tried.has(u));
      tried.add(u);
    }
    assert.equal(group.pick(context(), tried), undefined);
  });

  test('passive: maxFails failures in a row eject, with an event; time ends it; the first failure after re-ejects longer', () => {
    const { group, clock, changes } = setup({ passive: { maxFails: 2, failTimeoutMs: 500 } });
    const dead = group.upstreams[1]!;
    const picks: string[] = [];
    for (let i = 0; i < 9; i++) {
      const u = group.pick(context())!;
      picks.push(u.url.port);
      group.begin(u);
      group.end(u, u === dead ? 'connect-error' : 'ok', 1);
    }
    assert.deepEqual(picks, ['3001', '3002', '3003', '3001', '3002', '3003', '3001', '3003', '3001']);
    assert.deepEqual(changes, [
      '3002 ejected: ejected for 500 ms after failed attempts in a row (last: connect-error)',
    ]);
    assert.equal(dead.available, false);
    clock.t += 500;
    assert.equal(group.pick(context(), new Set([group.upstreams[0]!, group.upstreams[2]!])), dead);
    assert.equal(changes[1], '3002 healthy: ejection over');
    group.begin(dead);
    group.end(dead, 'reset', 3);
    assert.equal(
      changes[2],
      '3002 ejected: ejected for 1000 ms after failed attempts in a row (last: reset)',
    );
    assert.deepEqual(
      group.snapshot().map((s) => [s.id, s.state, s.available, s.ejections]),
      [
        ['http://127.0.0.1:3001', 'healthy', true, 0],
        ['http://127.0.0.1:3002', 'ejected', false, 2],
        ['http://127.0.0.1:3003', 'healthy', true, 0],
      ],
    );
  });

  test('passive: 5xx and slow answers count only when configured; a group of one is never ejected', () => {
    const lenient = setup({ passive: { maxFails: 1 } }).group;
    for (let i = 0; i < 6; i++) attempt(lenient, 'server-error');
    assert.ok(lenient.upstreams.every((u) => u.available));

    const strict = setup({
      passive: { maxFails: 1, slowMs: 100, maxEjectedPercent: 100 },
      failOn: ['server-error'],
    }).group;
    assert.equal(attempt(strict, 'server-error')!.state, 'ejected');
    assert.equal(attempt(strict, 'ok', context(), 101)!.state, 'ejected');
    assert.equal(attempt(strict, 'connect-error')!.state, 'healthy', 'failOn replaced the default list');

    const single = new UpstreamGroup({ upstreams: [URLS[0]!] });
    for (let i = 0; i < 5; i++) assert.ok(attempt(single, 'connect-error'));
  });

  test('the end of an ejection is reported on time, without a request to notice it', {
    timeout: 5000,
  }, async () => {
    const group = new UpstreamGroup({ upstreams: URLS, passive: { maxFails: 1, failTimeoutMs: 30 } });
    const u = group.pick(context())!;
    group.begin(u);
    const back = new Promise<string>((resolve) => {
      group.onChange((upstream, state, reason) => {
        if (upstream === u && state === 'healthy') resolve(reason);
      });
    });
    group.end(u, 'connect-error', 1);
    assert.equal(u.state, 'ejected');
    assert.equal(await back, 'ejection over');
    await group.close();
  });

  test('passive: at most maxEjectedPercent of the group is ejected at once (at least one)', () => {
    const { group, clock } = setup({
      upstreams: [...URLS, 'http://127.0.0.1:3004'],
      passive: { maxFails: 1, failTimeoutMs: 1000 },
    });
    // Every upstream fails (a slow endpoint timing out everywhere): two of four may go.
    for (let i = 0; i < 12; i++) attempt(group, 'timeout');
    assert.deepEqual(
      group.upstreams.map((u) => u.state),
      ['ejected', 'ejected', 'healthy', 'healthy'],
    );
    clock.t += 1000; // the ejections run out; the next failures may eject others
    attempt(group, 'timeout');
    assert.equal(group.upstreams.filter((u) => u.state === 'ejected').length, 1);

    const one = setup({ passive: { maxFails: 1, maxEjectedPercent: 0 } }).group;
    for (let i = 0; i < 6; i++) attempt(one, 'reset');
    assert.deepEqual(
      one.upstreams.map((u) => u.state),
      ['ejected', 'healthy', 'healthy'],
      '0 % still lets one go',
    );
  });

  test('breaker: opens on the failure ratio, half-opens after openMs for one probe, closes on success', () => {
    const { group, clock, changes } = setup({
      upstreams: [URLS[0]!, URLS[1]!],
      passive: false,
      breaker: { window: 10, minRequests: 4, failureRatio: 0.6, openMs: 2000 },
    });
    const flaky = group.upstreams[0]!;
    const ex = new Set([group.upstreams[1]!]);
    const outcomes: Outcome[] = ['ok', 'reset', 'ok', 'reset', 'ok', 'reset', 'reset'];
    for (const outcome of outcomes) {
      const u = group.pick(context(), ex)!;
      group.begin(u);
      group.end(u, outcome, 1);
    }
    assert.equal(flaky.state, 'healthy', '4 of 7 failed: under 0.6');
    const u = group.pick(context(), ex)!;
    group.begin(u);
    group.end(u, 'timeout', 1);
    assert.equal(flaky.state, 'open');
    assert.match(
      changes.at(-1)!,
      /^3001 open: breaker open: 5 of the last 8 attempts failed \(last: timeout\)$/,
    );
    assert.equal(group.pick(context(), ex), undefined);
    clock.t += 2000;
    const probe = group.pick(context(), ex)!;
    assert.equal(probe, flaky);
    assert.equal(changes.at(-1), '3001 half-open: breaker half-open: one probe request');
    group.begin(probe);
    assert.equal(flaky.available, false, 'one probe at a time');
    assert.equal(group.pick(context(), ex), undefined);
    group.end(probe, 'ok', 1);
    assert.equal(flaky.state, 'healthy');
    assert.equal(changes.at(-1), '3001 healthy: breaker closed: the probe request succeeded');
  });

  test('active checks: fails in a row make it unhealthy, passes bring it back and lift an ejection', async () => {
    const verdicts = new Map<string, boolean>(URLS.map((u) => [u, true]));
    const probe = async (u: Upstream): Promise<ProbeResult> =>
      verdicts.get(u.id) ? { ok: true, reason: 'status 200' } : { ok: false, reason: 'status 503' };
    const { group, changes } = setup({ health: { uri: '/healthz', fails: 2, passes: 2 }, probe });
    const sick = group.upstreams[2]!;
    verdicts.set(sick.id, false);
    await group.checkNow();
    assert.equal(sick.state, 'healthy', 'one failure of two');
    await group.checkNow();
    assert.equal(sick.state, 'unhealthy');
    assert.equal(ports(Array.from({ length: 4 }, () => group.pick(context()))), '3001 3002 3001 3002');
    verdicts.set(sick.id, true);
    await group.checkNow();
    assert.equal(sick.state, 'unhealthy');
    await group.checkNow();
    assert.equal(sick.state, 'healthy');
    assert.deepEqual(changes, [
      '3003 unhealthy: health check: status 503',
      '3003 healthy: health check: status 200',
    ]);

    // ejected by traffic, then the checks see it fail and come back: back at once
    const u = group.pick(context(), new Set([group.upstreams[0]!, group.upstreams[1]!]))!;
    group.begin(u);
    group.end(u, 'connect-error', 1);
    assert.equal(sick.state, 'ejected');
    verdicts.set(sick.id, false);
    await group.checkNow();
    await group.checkNow();
    verdicts.set(sick.id, true);
    await group.checkNow();
    await group.checkNow();
    assert.equal(sick.state, 'healthy', 'the passing check lifted the ejection');
    await group.close();
  });

  test('active checks over HTTP on a timer, stopped by close()', async () => {
    let status = 200;
    let checks = 0;
    const server = createServer((req, res) => {
      checks++;
      res.writeHead(req.url === '/healthz' ? status : 404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const group = new UpstreamGroup({
      upstreams: [`http://127.0.0.1:${port}`, URLS[0]!],
      health: { uri: '/healthz', intervalMs: 20, timeoutMs: 1000 },
    });
    const states: UpstreamState[] = [];
    const next = (): Promise<UpstreamState> =>
      new Promise((resolve) => {
        const off = group.onChange((u, state) => {
          if (u !== group.upstreams[0]) return;
          off();
          states.push(state);
          resolve(state);
        });
      });
    try {
      group.start();
      status = 503;
      assert.equal(await next(), 'unhealthy');
      status = 200;
      assert.equal(await next(), 'healthy');
    } finally {
      await group.close();
    }
    const after = checks;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(checks, after, 'no check after close()');
    server.close();
  });

  test("running health checks do not keep the process alive (timers and connections unref'd)", async () => {
    const hung = createServer(() => {}); // takes the check, never answers
    hung.listen(0, '127.0.0.1');
    await once(hung, 'listening');
    const hungUrl = `http://127.0.0.1:${(hung.address() as AddressInfo).port}`;
    const entry = join(import.meta.dirname, '..', '..', '..', 'src', 'proxy', 'balance', 'index.ts');
    const script = [
      `import { UpstreamGroup } from ${JSON.stringify(entry)};`,
      `const group = new UpstreamGroup({ upstreams: ['http://127.0.0.1:9', ${JSON.stringify(hungUrl)}],`,
      "  health: { uri: '/healthz', intervalMs: 20, timeoutMs: 60_000 } });",
      'group.start();',
      "console.log('started');",
    ].join('\n');
    try {
      const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
        // A process the checks kept alive would be killed at the timeout and fail here.
        execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 }, (err, out) =>
          err ? reject(err) : resolve({ stdout: out }),
        );
      });
      assert.equal(stdout.trim(), 'started');
    } finally {
      hung.closeAllConnections();
      hung.close();
    }
  });

  test('canRetry: idempotent methods after connect errors, resets and timeouts, bounded in count and time', () => {
    const group = new UpstreamGroup({ upstreams: URLS, retry: { attempts: 2, withinMs: 1000 } });
    const cases: [string, Outcome, number, number, boolean][] = [
      ['GET', 'connect-error', 1, 0, true],
      ['HEAD', 'reset', 1, 0, true],
      ['OPTIONS', 'timeout', 2, 0, true],
      ['PUT', 'reset', 1, 1000, true],
      ['DELETE', 'reset', 1, 0, true],
      ['TRACE', 'reset', 1, 0, true],
      ['GET', 'reset', 3, 0, false], // the third attempt failed: two retries made
      ['GET', 'reset', 1, 1001, false], // past withinMs
      ['POST', 'connect-error', 1, 0, false],
      ['PATCH', 'reset', 1, 0, false],
      ['get', 'reset', 1, 0, false], // methods are case-sensitive (RFC 9110 §9.1)
      ['GET', 'server-error', 1, 0, false],
      ['GET', 'ok', 1, 0, false],
    ];
    for (const [method, outcome, n, elapsed, expected] of cases) {
      assert.equal(
        group.canRetry(method, outcome, n, 5000, 5000 + elapsed),
        expected,
        `${method} ${outcome} #${n} +${elapsed}`,
      );
    }
    const none = new UpstreamGroup({ upstreams: URLS, retry: false });
    assert.equal(none.canRetry('GET', 'connect-error', 1, 0, 0), false);
    const narrow = new UpstreamGroup({ upstreams: URLS, retry: { on: ['connect-error'] } });
    assert.equal(narrow.canRetry('GET', 'timeout', 1, 0, 0), false);
    assert.equal(narrow.canRetry('GET', 'connect-error', 1, 0, 0), true);
  });

  test('an upstream of another group is refused', () => {
    const a = setup().group;
    const b = setup().group;
    assert.throws(() => a.begin(b.upstreams[0]!), /is not of group "default"/);
  });

  const invalid: [string, Partial<UpstreamGroupOptions>, RegExp][] = [
    ['no upstreams', { upstreams: [] }, /upstreams must be a non-empty list/],
    ['a relative URL', { upstreams: ['/x'] }, /upstreams\[0\] must be an absolute http\(s\) URL/],
    ['another scheme', { upstreams: ['ftp://a'] }, /upstreams\[0\] must be an http: or https: URL/],
    [
      'a zero weight',
      { upstreams: [{ url: URLS[0]!, weight: 0 }] },
      /weight must be a positive number, got 0/,
    ],
    [
      'a NaN weight',
      { upstreams: [{ url: URLS[0]!, weight: Number.NaN }] },
      /weight must be a positive number/,
    ],
    ['an unknown balance', { balance: 'random' as never }, /balance must be/],
    ['a hash without a name', { balance: { hash: 'header', name: '' } }, /balance must be/],
    ['negative retries', { retry: { attempts: -1 } }, /retry.attempts must be a whole number ≥ 0/],
    ['passes 0', { health: { uri: '/h', passes: 0 } }, /health.passes must be a whole number ≥ 1/],
    ['a uri without /', { health: { uri: 'h' } }, /health.uri must be a path starting with '\/'/],
    ['a bad status', { health: { uri: '/h', status: '6xx' as never } }, /health.status must be/],
    ['maxFails 0', { passive: { maxFails: 0 } }, /passive.maxFails must be/],
    [
      'a share over 100 %',
      { passive: { maxEjectedPercent: 101 } },
      /passive.maxEjectedPercent must be a percentage/,
    ],
    ['a ratio over 1', { breaker: { failureRatio: 2 } }, /breaker.failureRatio must be a number in \(0, 1\]/],
  ];
  for (const [name, options, message] of invalid) {
    test(`refuses ${name} with STRATA_ERR_UPSTREAM_OPTION`, () => {
      assert.throws(
        () => new UpstreamGroup({ upstreams: URLS, ...options }),
        (err: unknown) =>
          err instanceof BalanceError &&
          err.code === 'STRATA_ERR_UPSTREAM_OPTION' &&
          message.test(err.message),
      );
    });
  }
});
