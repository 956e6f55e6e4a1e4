import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validate } from '../../../src/cli/config-rules.ts';
import { CONFIG_SCHEMA } from '../../../src/cli/config-schema.ts';
import { UpstreamGroup, type UpstreamGroupOptions } from '../../../src/proxy/balance/index.ts';

function issues(group: object): string[] {
  const config = {
    proxy: {
      groups: [{ name: 'api', upstreams: ['http://127.0.0.1:3001'], ...group }],
      routes: [{ to: 'api' }],
    },
  };
  return validate(config, CONFIG_SCHEMA, { baseDir: '/srv', dataOnly: true }).issues.map(
    (i) => `${i.path}: ${i.message}`,
  );
}

test('a config file may set the health, passive, breaker, failOn and retry.on of a group', () => {
  const group: Omit<UpstreamGroupOptions, 'upstreams'> = {
    health: { uri: '/healthz', intervalMs: 2000, timeoutMs: 500, status: [200, 399], passes: 2, fails: 3 },
    passive: { maxFails: 3, failTimeoutMs: 10_000, maxEjectMs: 60_000, slowMs: 5000, maxEjectedPercent: 34 },
    breaker: { window: 50, minRequests: 20, failureRatio: 0.5, openMs: 5000 },
    failOn: ['connect-error', 'reset', 'timeout', 'server-error'],
    retry: { attempts: 1, withinMs: 3000, on: ['connect-error'] },
  };
  assert.deepEqual(issues(group), []);
  assert.deepEqual(issues({ health: { uri: '/h', status: '2xx' }, passive: false, breaker: false }), []);
  // What the file allows, the group takes.
  assert.ok(new UpstreamGroup({ upstreams: ['http://127.0.0.1:3001'], ...group }));
});

const bad: [string, Record<string, unknown>, RegExp][] = [
  ['a relative health uri', { health: { uri: 'healthz' } }, /health\.uri/],
  ['a status out of range', { health: { uri: '/h', status: 600 } }, /health\.status/],
  ['a status class that is none', { health: { uri: '/h', status: '6xx' } }, /health\.status/],
  ['zero passes', { health: { uri: '/h', passes: 0 } }, /health\.passes/],
  ['an unknown outcome', { failOn: ['teapot'] }, /failOn/],
  ['a ratio over 1', { breaker: { failureRatio: 1.5 } }, /breaker/],
  ['a share over 100', { passive: { maxEjectedPercent: 150 } }, /passive/],
  ['an unknown key', { health: { uri: '/h', interval: 5 } }, /health\.interval/],
  ['headers in JSON', { health: { uri: '/h', headers: { host: 'x' } } }, /health\.headers/],
];
for (const [name, group, path] of bad) {
  test(`a config file is refused with ${name}`, () => {
    const found = issues(group);
    assert.ok(
      found.some((line) => path.test(line)),
      found.join('\n'),
    );
  });
}
