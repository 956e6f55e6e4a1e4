import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App } from '../../src/app/index.ts';
import { serve } from '../../src/server.ts';

test('onStartup hooks run in order before the server listens, onShutdown in reverse after the drain', async () => {
  const events: string[] = [];
  const sub = new App();
  sub.onStartup(() => void events.push('sub start'));
  sub.onShutdown(() => void events.push('sub stop'));
  const app = new App();
  app.onStartup(async () => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    events.push('start 1');
  });
  app.onStartup(() => void events.push('start 2'));
  app.onShutdown(() => void events.push('stop 1'));
  app.onShutdown(() => void events.push('stop 2'));
  app.route('/sub', sub);
  app.get('/', (c) => c.text(events.join(',')));
  const server = await serve(app, { port: 0, logger: false });
  assert.equal(await (await fetch(server.url)).text(), 'start 1,start 2,sub start');
  await server.close();
  assert.deepEqual(events, ['start 1', 'start 2', 'sub start', 'sub stop', 'stop 2', 'stop 1']);
});

test('a startup hook that throws keeps the server from listening', async () => {
  const app = new App();
  app.onStartup(() => {
    throw new Error('database unreachable');
  });
  await assert.rejects(serve(app, { port: 0, logger: false }), /database unreachable/);
});

test('a hook that is not a function is refused', () => {
  assert.throws(() => new App().onStartup('nope' as never), { code: 'STRATA_ERR_BAD_HANDLER' });
});
