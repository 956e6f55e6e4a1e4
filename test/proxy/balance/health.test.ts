import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { httpProbe, RiseFall, statusMatches } from '../../../src/proxy/balance/active-health.ts';
import { CircuitBreaker } from '../../../src/proxy/balance/breaker.ts';
import { PassiveEjection } from '../../../src/proxy/balance/passive.ts';
import type { Upstream } from '../../../src/proxy/balance/types.ts';

describe('passive ejection', () => {
  const settings = { maxFails: 3, failTimeoutMs: 1000, maxEjectMs: 5000 };

  test('maxFails failures in a row eject for failTimeoutMs; a success between resets the count', () => {
    const p = new PassiveEjection(settings);
    assert.equal(p.failure(0), false);
    assert.equal(p.failure(10), false);
    p.success();
    assert.equal(p.failure(20), false);
    assert.equal(p.failure(30), false);
    assert.equal(p.failure(40), true, 'the third failure in a row ejects');
    assert.equal(p.until, 1040);
    assert.equal(p.ejected(1039), true);
    assert.equal(p.ejected(1040), false);
    assert.equal(p.ejections, 1);
  });

  test('failures further apart than failTimeoutMs do not add up', () => {
    const p = new PassiveEjection(settings);
    assert.equal(p.failure(0), false);
    assert.equal(p.failure(900), false);
    assert.equal(p.failure(1901), false, 'more than 1000 ms after the previous one: a new count');
    assert.equal(p.failure(2000), false);
    assert.equal(p.failure(2100), true);
  });

  test('failures reported while ejected change nothing', () => {
    const p = new PassiveEjection(settings);
    for (let t = 0; t < 3; t++) p.failure(t);
    assert.equal(p.until, 1002);
    for (let t = 10; t < 20; t++) assert.equal(p.failure(t), false);
    assert.equal(p.until, 1002);
    assert.equal(p.ejections, 1);
  });

  test('on probation after an ejection: one failure ejects again, twice as long, up to maxEjectMs', () => {
    const p = new PassiveEjection(settings);
    let t = 0;
    for (let i = 0; i < 3; i++) p.failure(t);
    const lengths: number[] = [];
    for (let i = 0; i < 5; i++) {
      lengths.push(p.until - t);
      t = p.until;
      assert.equal(p.ejected(t), false);
      assert.equal(p.failure(t), true, 'the first failure after the ejection ejects again');
    }
    lengths.push(p.until - t);
    assert.deepEqual(lengths, [1000, 2000, 4000, 5000, 5000, 5000]);
  });

  test('a success on probation clears it; quiet time shortens the next ejection again', () => {
    const p = new PassiveEjection(settings);
    for (let i = 0; i < 3; i++) p.failure(0);
    p.ejected(1000);
    p.failure(1000); // 2000 ms
    assert.equal(p.until, 3000);
    p.ejected(3000);
    p.success();
    assert.equal(p.failure(3000), false, 'not on probation: needs maxFails again');
    p.failure(3001);
    assert.equal(p.failure(3002), true);
    assert.equal(p.until - 3002, 4000, 'soon after the last one: the length keeps growing');
    p.ejected(7002);
    p.success();
    // 3 × failTimeoutMs of quiet: three steps back down, to the first length.
    for (let i = 0; i < 3; i++) p.failure(10_002 + i);
    assert.equal(p.until - 10_004, 1000);
  });

  test('lift ends an ejection early (an active check passed)', () => {
    const p = new PassiveEjection(settings);
    for (let i = 0; i < 3; i++) p.failure(0);
    assert.equal(p.lift(10), true);
    assert.equal(p.ejected(11), false);
    assert.equal(p.lift(12), false, 'nothing to lift');
  });
});

describe('circuit breaker', () => {
  const settings = { window: 10, minRequests: 4, failureRatio: 0.5, openMs: 1000 };

  test('opens when half of at least minRequests attempts failed', () => {
    const b = new CircuitBreaker(settings);
    assert.equal(b.record(true, 0), undefined);
    assert.equal(b.record(true, 0), undefined);
    assert.equal(b.record(true, 0), undefined, 'three of three, but fewer than minRequests');
    assert.equal(b.record(true, 0), 'open');
    assert.equal(b.allows(999), false);
    assert.equal(b.opens, 1);
  });

  test('a failure ratio under the threshold keeps it closed, over the whole window', () => {
    const b = new CircuitBreaker(settings);
    for (let i = 0; i < 100; i++) assert.equal(b.record(i % 3 === 1, i), undefined, `attempt ${i}`);
    assert.equal(b.state(100), 'closed');
    // the window forgets: ten successes, then 5 failures of the last 10 open it
    for (let i = 0; i < 10; i++) b.record(false, 200);
    for (let i = 0; i < 4; i++) assert.equal(b.record(true, 200), undefined);
    assert.equal(b.record(true, 200), 'open');
  });

  test('half-open after openMs lets exactly one probe through', () => {
    const b = new CircuitBreaker(settings);
    for (let i = 0; i < 4; i++) b.record(true, 0);
    assert.equal(b.state(999), 'open');
    assert.equal(b.record(false, 500), undefined, 'outcomes while open are ignored');
    assert.equal(b.state(1000), 'half-open');
    assert.equal(b.allows(1000), true);
    assert.equal(b.record(true, 1000), undefined, 'an outcome before the probe began is ignored');
    b.begin(1000);
    assert.equal(b.allows(1001), false, 'one probe at a time');
    assert.equal(b.state(1001), 'half-open');
  });

  test('a successful probe closes it with a clean window', () => {
    const b = new CircuitBreaker(settings);
    for (let i = 0; i < 4; i++) b.record(true, 0);
    b.begin(1000);
    assert.equal(b.record(false, 1010), 'closed');
    assert.equal(b.allows(1010), true);
    for (let i = 0; i < 3; i++)
      assert.equal(b.record(true, 1020), undefined, 'the old failures are forgotten');
  });

  test('a failed probe opens it again for openMs', () => {
    const b = new CircuitBreaker(settings);
    for (let i = 0; i < 4; i++) b.record(true, 0);
    b.begin(1000);
    assert.equal(b.record(true, 1500), 'open');
    assert.equal(b.state(2499), 'open');
    assert.equal(b.state(2500), 'half-open');
    assert.equal(b.opens, 2);
  });
});

describe('rise and fall', () => {
  test('fails failures in a row make it unhealthy, passes passes healthy again', () => {
    const r = new RiseFall(2, 3);
    assert.equal(r.healthy, true);
    assert.deepEqual([r.record(false), r.record(false), r.record(true)], [undefined, undefined, undefined]);
    assert.deepEqual([r.record(false), r.record(false), r.record(false)], [undefined, undefined, false]);
    assert.equal(r.healthy, false);
    assert.deepEqual([r.record(true), r.record(false), r.record(true)], [undefined, undefined, undefined]);
    assert.equal(r.record(true), true);
    assert.equal(r.healthy, true);
  });
});

describe('expected status', () => {
  const cases: [number, Parameters<typeof statusMatches>[1], boolean][] = [
    [200, 200, true],
    [204, 200, false],
    [204, '2xx', true],
    [301, '2xx', false],
    [301, '3xx', true],
    [399, [200, 399], true],
    [400, [200, 399], false],
    [199, [200, 399], false],
  ];
  for (const [status, expected, ok] of cases) {
    test(`${status} against ${JSON.stringify(expected)}: ${ok}`, () => {
      assert.equal(statusMatches(status, expected), ok);
    });
  }
});

describe('the HTTP probe', () => {
  let status = 200;
  let hang = false;
  const seen: { url: string; host: string; ua: string; x: string }[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({
      url: req.url ?? '',
      host: req.headers.host ?? '',
      ua: req.headers['user-agent'] ?? '',
      x: String(req.headers['x-check'] ?? ''),
    });
    if (hang) return; // keep the socket, never answer
    res.writeHead(status).end('body');
  });
  server.listen(0, '127.0.0.1');
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const upstream = async (): Promise<Upstream> => {
    if (!server.listening) await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const url = new URL(`http://127.0.0.1:${port}/prefix`);
    return { id: url.origin, url, weight: 1, active: 0, available: true, state: 'healthy' };
  };
  const settings = {
    uri: '/healthz?deep=1',
    intervalMs: 1000,
    timeoutMs: 300,
    status: '2xx' as const,
    passes: 1,
    fails: 1,
    headers: { 'x-check': 'yes' },
  };

  test('GETs the uri on the origin with its headers; the status decides', async () => {
    const u = await upstream();
    const probe = httpProbe(settings);
    assert.deepEqual(await probe(u, new AbortController().signal), { ok: true, reason: 'status 200' });
    assert.deepEqual(seen.at(-1), {
      url: '/healthz?deep=1',
      host: u.url.host,
      ua: 'strata-health-check',
      x: 'yes',
    });
    status = 503;
    assert.deepEqual(await probe(u, new AbortController().signal), { ok: false, reason: 'status 503' });
    status = 200;
  });

  test('a hung upstream fails after timeoutMs', async () => {
    const u = await upstream();
    hang = true;
    try {
      const result = await httpProbe(settings)(u, new AbortController().signal);
      assert.deepEqual(result, { ok: false, reason: 'no response in 300 ms' });
    } finally {
      hang = false;
    }
  });

  test('a refused connection fails with the system code', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    closed.close();
    await once(closed, 'close');
    const url = new URL(`http://127.0.0.1:${port}`);
    const result = await httpProbe(settings)(
      { id: url.origin, url, weight: 1, active: 0, available: true, state: 'healthy' },
      new AbortController().signal,
    );
    assert.deepEqual(result, { ok: false, reason: 'ECONNREFUSED' });
  });

  test('an abort ends a check at once', async () => {
    const u = await upstream();
    hang = true;
    try {
      const controller = new AbortController();
      const pending = httpProbe({ ...settings, timeoutMs: 60_000 })(u, controller.signal);
      controller.abort();
      assert.deepEqual(await pending, { ok: false, reason: 'check aborted' });
    } finally {
      hang = false;
    }
  });
});
