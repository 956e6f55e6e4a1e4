import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveServeOptions, SERVER_DEFAULTS, serve } from '../../src/server.ts';

test('defaults come from SERVER_DEFAULTS, overrides win', () => {
  const resolved = resolveServeOptions({ port: 0, maxBodySize: 10 });
  assert.equal(resolved.port, 0);
  assert.equal(resolved.maxBodySize, 10);
  assert.equal(resolved.headersTimeout, SERVER_DEFAULTS.headersTimeout);
});

const bad: [string, Record<string, unknown>, RegExp][] = [
  ['a negative limit', { maxBodySize: -1 }, /maxBodySize must be a non-negative integer/],
  ['a fractional timeout', { headersTimeout: 1.5 }, /headersTimeout must be a non-negative integer/],
  ['a string port', { port: '80' }, /port must be a non-negative integer/],
  ['a port above 65535', { port: 70000 }, /port must be at most 65535/],
  ['a non-boolean dev', { dev: 'yes' }, /dev must be a boolean/],
  // node runs a timer over 2^31 − 1 ms after 1 ms: every connection would be cut at once.
  [
    'a keepAliveTimeout past what a node timer holds',
    { keepAliveTimeout: 2 ** 31 },
    /keepAliveTimeout must be at most 2147483647 ms/,
  ],
  [
    'a requestTimeout of 30 days',
    { requestTimeout: 30 * 86_400_000 },
    /requestTimeout must be at most 2147483647 ms/,
  ],
  ['a headersTimeout past the limit', { headersTimeout: 2 ** 32 }, /headersTimeout must be at most/],
  ['an idleTimeout past the limit', { idleTimeout: 2 ** 31 }, /idleTimeout must be at most/],
  ['a shutdownTimeout past the limit', { shutdownTimeout: 2 ** 31 }, /shutdownTimeout must be at most/],
  ['a drainGrace past the limit', { drainGrace: 2 ** 31 }, /drainGrace must be at most/],
];
for (const [name, options, message] of bad) {
  test(`${name} is refused naming the option`, () => {
    assert.throws(() => resolveServeOptions(options as never), message);
  });
}

test('timers up to 2^31 − 1 ms are taken', () => {
  const resolved = resolveServeOptions({ keepAliveTimeout: 2 ** 31 - 1, requestTimeout: 2 ** 31 - 1 });
  assert.equal(resolved.keepAliveTimeout, 2 ** 31 - 1);
  assert.equal(resolved.requestTimeout, 2 ** 31 - 1);
});

test('headersTimeout is capped to requestTimeout (node refuses the reverse)', () => {
  assert.equal(resolveServeOptions({ headersTimeout: 5000, requestTimeout: 1000 }).headersTimeout, 1000);
});

test('aborting the signal shuts the server down gracefully', async () => {
  const controller = new AbortController();
  let shutdown = false;
  const server = await serve(
    {
      fetch: () => new Response('up'),
      shutdown() {
        shutdown = true;
      },
    },
    { port: 0, logger: false, signal: controller.signal },
  );
  assert.equal(await (await fetch(server.url)).text(), 'up');
  controller.abort();
  await server.close(); // the same drain, already under way
  assert.equal(shutdown, true);
  await assert.rejects(fetch(server.url), /fetch failed/);
});
