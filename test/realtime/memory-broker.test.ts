import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App } from '../../src/index.ts';
import { MemoryBroker } from '../../src/realtime/index.ts';
import { serve } from '../../src/server.ts';
import { openClient, wsUrl } from '../fixtures/ws.ts';

function roomApp(): App {
  const app = new App();
  app.get('/room', (c) =>
    c.upgrade({
      open(ws) {
        ws.subscribe('room');
        ws.send('joined');
      },
      message(ws, data) {
        ws.publish('room', data);
      },
    }),
  );
  return app;
}

test('two servers sharing a MemoryBroker share topics; each message arrives once', async () => {
  const broker = new MemoryBroker();
  const appA = roomApp();
  const appB = roomApp();
  await using a = await serve(appA, { port: 0, logger: false, broker });
  const b = await serve(appB, { port: 0, logger: false, broker });
  const onA = await openClient(wsUrl(a.url, '/room'));
  const onB = await openClient(wsUrl(b.url, '/room'));
  const alsoOnA = await openClient(wsUrl(a.url, '/room'));
  for (const c of [onA, onB, alsoOnA]) assert.equal(await c.next(), 'joined');
  onB.ws.send('from B');
  assert.equal(await onA.next(), 'from B');
  assert.equal(await alsoOnA.next(), 'from B');
  appA.publish('room', 'from app A');
  assert.equal(await onB.next(), 'from app A');
  assert.equal(await onA.next(), 'from app A');
  await assert.rejects(onA.next(200), 'no second copy through the broker');
  // Closing B unsubscribes its topics from the shared broker; A keeps working.
  await b.close();
  assert.equal((await onB.closed).code, 1001);
  alsoOnA.ws.send('still A');
  assert.equal(await onA.next(), 'still A');
  onA.ws.close();
  alsoOnA.ws.close();
});
