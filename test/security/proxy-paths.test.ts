/**
 * The path sent upstream is the path the route matched: dot-segments (also `%2e`) resolved, so
 * that the upstream's own base path and `stripPath` cannot be climbed out of by a target the
 * upstream (or anything behind it) resolves itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawRequest } from '../fixtures/http.ts';
import { startProxy, startUpstream } from '../proxy/fixtures.ts';

test('dot-segments cannot climb out of the upstream base path or the stripped prefix', async (t) => {
  const up = await startUpstream((req, res) => res.end(req.url));
  t.after(() => up.close());
  const group = (name: string) => ({
    name,
    upstreams: [`${up.url}/public`],
    passive: false as const,
    breaker: false as const,
  });
  await using server = await startProxy([], {
    groups: [group('api'), group('all')],
    routes: [
      { path: '/api', to: 'api', stripPath: true },
      { path: '/', to: 'all' },
    ],
  });
  const cases: [target: string, upstream: string][] = [
    ['/api/y?q=1', '/public/y?q=1'],
    ['/xyz/../../api/y', '/public/y'],
    ['/static/../api/x', '/public/x'],
    ['/api/%2e%2e/api/z', '/public/z'],
    ['/../secret', '/public/secret'],
    ['/a/%2E%2E/%2e%2e/secret?x=/../', '/public/secret?x=/../'],
  ];
  for (const [target, expected] of cases) {
    const reply = await rawRequest(
      server.port,
      `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(reply.status, 200, `${target}: ${reply.text}`);
    assert.equal(reply.text.split('\r\n\r\n')[1], expected, target);
  }
});

test('backslashes, which URL resolvers read as slashes, cannot climb out either', async (t) => {
  const up = await startUpstream((req, res) => res.end(req.url));
  t.after(() => up.close());
  await using server = await startProxy([], {
    groups: [{ name: 'api', upstreams: [`${up.url}/public`], passive: false, breaker: false }],
    routes: [{ path: '/api', to: 'api', stripPath: true }],
  });
  const cases: [target: string, answer: string][] = [
    // Resolved as the upstream may resolve it: out of /api, so the app's.
    ['/api/x\\..\\..\\..\\secret', 'from the app'],
    ['/api/a\\b\\..\\c', '/public/a/c'],
  ];
  for (const [target, answer] of cases) {
    const reply = await rawRequest(
      server.port,
      `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(reply.status, 200, `${target}: ${reply.text}`);
    assert.equal(reply.text.split('\r\n\r\n')[1], answer, target);
  }
});
