/**
 * Containment in the logs: a value the app rejects or throws outside a request's answer —
 * `waitUntil` work, a WebSocket handler, anything handed to the logger as `err` — is logged
 * through a plain copy. pino's own error serializer writes into the error and reads every getter,
 * so a frozen error or a throwing getter in `err` ended the process.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { App } from '../../src/app/index.ts';
import { loggableError } from '../../src/observe/loggable-error.ts';
import { createLogger } from '../../src/observe/logger.ts';
import { serve } from '../../src/server.ts';
import { openClient, wsUrl } from '../fixtures/ws.ts';

const CHILD = process.env.STRATA_LOG_CONTAINMENT_CHILD;

function hostile(): Record<string, () => unknown> {
  const getterError = new Error('getter');
  Object.defineProperty(getterError, 'message', {
    get() {
      throw new Error('message getter');
    },
  });
  const cyclic = new Error('cyclic') as Error & { cause?: unknown };
  cyclic.cause = cyclic;
  return {
    frozen: () => Object.freeze(new Error('frozen')),
    getter: () => getterError,
    proxy: () =>
      new Proxy(
        {},
        {
          get() {
            throw new Error('trap');
          },
          getPrototypeOf() {
            throw new Error('trap');
          },
          ownKeys() {
            throw new Error('trap');
          },
        },
      ),
    cyclic: () => cyclic,
    symbol: () => Symbol('s'),
  };
}

/** Child: a real server on stdout logging; each hostile value rejected through waitUntil and thrown by a WebSocket handler. */
async function child(): Promise<void> {
  const values = hostile();
  const app = new App();
  app.get('/later/:kind', (c) => {
    c.info.waitUntil(Promise.reject(values[c.params.kind]!()));
    return c.text('ok');
  });
  app.get('/ws/:kind', (c) => {
    const kind = c.params.kind;
    return c.upgrade({
      message() {
        throw values[kind]!();
      },
    });
  });
  app.get('/alive', (c) => c.text('alive'));
  const server = await serve(app, { port: 0, host: '127.0.0.1', logger: createLogger({ fd: 2 }) });
  for (const kind of Object.keys(values)) {
    assert.equal((await fetch(`${server.url}/later/${kind}`)).status, 200);
    const client = await openClient(wsUrl(server.url, `/ws/${kind}`));
    client.ws.send('boom');
    await new Promise((r) => setTimeout(r, 30));
    client.ws.close();
  }
  await new Promise((r) => setTimeout(r, 50));
  const alive = await fetch(`${server.url}/alive`);
  process.stdout.write(`${await alive.text()}\n`);
  await server.close();
  process.exit(0);
}

if (CHILD !== undefined) await child();
else {
  test('loggableError never throws and the default logger writes every hostile err', () => {
    const lines: string[] = [];
    const log = createLogger({ fd: 2 });
    for (const [kind, make] of Object.entries(hostile())) {
      const copy = loggableError(make());
      assert.equal(typeof copy.message, 'string', kind);
      lines.push(kind);
      assert.doesNotThrow(() => log.child({}).info({ err: make() }, 'a hostile err'), kind);
    }
    assert.equal(lines.length, 5);
  });

  test('a server keeps serving after hostile values in waitUntil and in WebSocket handlers', async () => {
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((ok, fail) =>
      execFile(
        process.execPath,
        [import.meta.filename],
        { env: { ...process.env, STRATA_LOG_CONTAINMENT_CHILD: '1' }, timeout: 20_000 },
        (err, stdout, stderr) => (err ? fail(Object.assign(err, { stderr })) : ok({ stdout, stderr })),
      ),
    );
    assert.equal(stdout.trim(), 'alive');
    const logged = stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string });
    assert.equal(logged.filter((l) => l.msg === 'waitUntil work failed').length, 5);
    assert.equal(logged.filter((l) => l.msg === 'WebSocket handler failed').length, 5);
  });
}
