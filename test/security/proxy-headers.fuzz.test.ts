/**
 * Fuzz of the proxy's header rewriting and route matching: whatever the client sends, no
 * hop-by-hop field (nor one its Connection names) is forwarded, an untrusted client cannot
 * state its own address, and a path only reaches a route it is under once dot-segments resolve.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UpstreamGroup } from '../../src/proxy/balance/index.ts';
import { forwardRequestHeaders, forwardResponseHeaders } from '../../src/proxy/headers.ts';
import { matchPath, ProxyRoute } from '../../src/proxy/routes.ts';
import { fuzz, PRINTABLE, type Rng } from '../fixtures/fuzz.ts';

const HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
];
const OTHER = [
  'x-a',
  'x-b',
  'accept',
  'cookie',
  'x-forwarded-for',
  'forwarded',
  'x-forwarded-proto',
  'x-forwarded-host',
  'via',
  'host',
];

function randomCase(rng: Rng, name: string): string {
  let out = '';
  for (const c of name) out += rng.chance(0.3) ? c.toUpperCase() : c;
  return out;
}

function randomHeaders(rng: Rng): string[] {
  const raw: string[] = [];
  const count = rng.int(0, 12);
  for (let i = 0; i < count; i++) {
    const name = rng.chance(0.4) ? rng.pick(HOP) : rng.pick(OTHER);
    let value = rng.string(PRINTABLE, rng.int(0, 12));
    if (name === 'connection' && rng.chance(0.7))
      value = Array.from({ length: rng.int(1, 3) }, () =>
        randomCase(rng, rng.pick([...OTHER, 'close', 'keep-alive'])),
      ).join(rng.pick([',', ', ', ' ,']));
    raw.push(randomCase(rng, name), value);
  }
  return raw;
}

test('forwarded request headers: no hop-by-hop field, the client address as the edge says', async () => {
  const ran = await fuzz({ seed: 0x9e00, iterations: 20_000, budgetMs: 1500 }, (rng) => {
    const raw = randomHeaders(rng);
    const trusted = rng.chance(0.5);
    const out = forwardRequestHeaders(
      raw,
      { address: '192.0.2.7', trusted, proto: 'http' },
      { forwarding: 'both', host: undefined, via: '1.1 strata' },
    );
    const named = new Set<string>();
    for (let i = 0; i < raw.length; i += 2)
      if (raw[i]!.toLowerCase() === 'connection')
        for (const t of raw[i + 1]!.split(',')) named.add(t.trim().toLowerCase());
    const names = out.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    for (const name of names) {
      assert.ok(!HOP.includes(name), `${name} forwarded from ${JSON.stringify(raw)}`);
      if (
        !['host', 'x-forwarded-for', 'forwarded', 'x-forwarded-proto', 'x-forwarded-host', 'via'].includes(
          name,
        )
      )
        assert.ok(!named.has(name), `${name} is named by Connection`);
    }
    assert.equal(names.filter((n) => n === 'host').length, 1);
    assert.equal(names.filter((n) => n === 'x-forwarded-for').length, 1);
    const xff = out[out.indexOf('x-forwarded-for') + 1]!;
    if (trusted) assert.ok(xff === '192.0.2.7' || xff.endsWith(', 192.0.2.7'), xff);
    else assert.equal(xff, '192.0.2.7');
    const fwd = out[out.indexOf('forwarded') + 1]!;
    if (!trusted) assert.match(fwd, /^for=192\.0\.2\.7;proto=http(;host=.*)?$/);
  });
  assert.ok(ran > 100);
});

test('forwarded response headers: no hop-by-hop field', async () => {
  const ran = await fuzz({ seed: 0x7e5, iterations: 20_000, budgetMs: 1000 }, (rng) => {
    const raw = randomHeaders(rng).map((s) => Buffer.from(s, 'latin1'));
    const { headers } = forwardResponseHeaders(raw, '1.1 strata');
    for (let i = 0; i < headers.length; i += 2)
      assert.ok(!HOP.includes(headers[i]!.toLowerCase()), headers[i]);
  });
  assert.ok(ran > 100);
});

test('a route matches a path only when the resolved path is under its prefix', async () => {
  const route = new ProxyRoute(
    { path: '/api', to: 'g' },
    new UpstreamGroup({ upstreams: ['http://127.0.0.1:1'] }),
  );
  const SEGMENTS = ['api', 'apix', '..', '.', '%2e', '%2E%2e', 'admin', '', 'x'];
  const ran = await fuzz({ seed: 0xa91, iterations: 20_000, budgetMs: 1000 }, (rng) => {
    const path = `/${Array.from({ length: rng.int(1, 5) }, () => rng.pick(SEGMENTS)).join('/')}`;
    const resolved = new URL(`http://x${path}`).pathname;
    const under = resolved === '/api' || resolved.startsWith('/api/');
    assert.equal(route.matchesPath(matchPath(path)), under, `${path} → ${resolved}`);
  });
  assert.ok(ran > 100);
});
