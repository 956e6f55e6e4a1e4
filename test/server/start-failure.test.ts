/**
 * A serve() that fails to start leaves nothing running: the access log (its SIGUSR1 reopen
 * listener, its file) is closed when the app's startup throws or the port is taken.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { serve } from '../../src/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-start-failure-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test("the app's startup throws: serve() rejects with its error and closes the access log", async () => {
  const before = process.listenerCount('SIGUSR1');
  const app = {
    fetch: () => new Response('ok'),
    startup: async () => {
      throw new Error('no database');
    },
  };
  await assert.rejects(
    serve(app, { port: 0, logger: false, accessLog: { destination: join(dir, 'a.log') } }),
    /no database/,
  );
  assert.equal(process.listenerCount('SIGUSR1'), before);
});

test('the port is taken: serve() rejects and closes the access log', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as { port: number };
  const before = process.listenerCount('SIGUSR1');
  try {
    await assert.rejects(
      serve(() => new Response('ok'), {
        port,
        host: '127.0.0.1',
        logger: false,
        accessLog: { destination: join(dir, 'b.log') },
      }),
    );
    assert.equal(process.listenerCount('SIGUSR1'), before);
  } finally {
    taken.close();
  }
});

test("the admin listener's port is taken: serve() rejects and closes the access log", async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as { port: number };
  const before = process.listenerCount('SIGUSR1');
  try {
    await assert.rejects(
      serve(() => new Response('ok'), {
        port: 0,
        logger: false,
        admin: { port },
        accessLog: { destination: join(dir, 'c.log') },
      }),
    );
    assert.equal(process.listenerCount('SIGUSR1'), before);
  } finally {
    taken.close();
  }
});
