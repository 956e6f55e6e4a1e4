/**
 * `strata/testing` (src/testing.ts): a chat with rooms tested against a real socket on an
 * ephemeral port, the way docs/app.md ("Testing") shows it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App, createMiddleware, HttpError, type WebSocketMessage } from '../../src/index.ts';
import { testServer } from '../../src/testing.ts';

const auth = createMiddleware<{ user: string }>(async (c, next) => {
  const token = c.req.headers.get('authorization');
  if (token === null || !token.startsWith('Bearer ')) {
    throw new HttpError(401, 'Sign in first', { headers: { 'www-authenticate': 'Bearer' } });
  }
  c.set('user', token.slice(7));
  await next();
});

function chat(): App {
  const app = new App({ log: false });
  app.get('/chat/:room', auth, (c) =>
    c.upgrade<{ room: string; user: string }>(
      {
        open(ws) {
          ws.subscribe(ws.data.room);
          ws.send(JSON.stringify({ welcome: ws.data.user, room: ws.data.room }));
          ws.publish(ws.data.room, `${ws.data.user} joined`);
        },
        message(ws, data) {
          if (data === '/leave') {
            ws.unsubscribe(ws.data.room);
            ws.send('left');
            return;
          }
          ws.publish(ws.data.room, typeof data === 'string' ? `${ws.data.user}: ${data}` : data);
        },
      },
      { data: { room: c.params.room, user: c.get('user') }, protocols: ['chat.v1'] },
    ),
  );
  app.post('/rooms/:room/announce', async (c) => {
    app.publish(c.params.room, `announcement: ${await c.req.text()}`);
    return c.json({ listeners: app.subscriberCount(c.params.room) }, 202);
  });
  return app;
}

const as = (user: string) => ({ headers: { authorization: `Bearer ${user}` } });

describe('testServer(app)', () => {
  test('rooms: members hear each other, the sender does not hear itself, other rooms hear nothing', async () => {
    await using t = await testServer(chat());
    assert.match(t.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const ada = await t.ws('/chat/lobby', as('ada'));
    assert.deepEqual(await ada.nextJson(), { welcome: 'ada', room: 'lobby' });
    const bob = await t.ws('/chat/lobby', as('bob'));
    assert.deepEqual(await bob.nextJson(), { welcome: 'bob', room: 'lobby' });
    assert.equal(await ada.next(), 'bob joined');
    const cy = await t.ws('/chat/kitchen', as('cy'));
    await cy.next(); // welcome

    ada.send('hello');
    assert.equal(await bob.next(), 'ada: hello');
    await ada.nothing();
    await cy.nothing();

    bob.send(new Uint8Array([1, 2, 3]));
    assert.deepEqual(await ada.next(), new Uint8Array([1, 2, 3]));

    bob.send('/leave');
    assert.equal(await bob.next(), 'left');
    ada.send('anyone?');
    await bob.nothing();
  });

  test('app.publish from an HTTP route reaches the sockets of the room', async () => {
    const app = chat();
    await using t = await testServer(app);
    const ada = await t.ws('/chat/lobby', as('ada'));
    await ada.next();
    const res = await t.fetch('/rooms/lobby/announce', { method: 'POST', body: 'tea at five' });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { listeners: 1 });
    assert.equal(await ada.next(), 'announcement: tea at five');
  });

  test('a refused handshake rejects with its status, body and headers', async () => {
    await using t = await testServer(chat());
    await assert.rejects(
      t.ws('/chat/lobby'),
      (err: { status: number; body: string; headers: Record<string, string> }) => {
        assert.equal(err.status, 401);
        assert.match(err.body, /Sign in first/);
        assert.equal(err.headers['www-authenticate'], 'Bearer');
        return true;
      },
    );
    await assert.rejects(t.ws('/nowhere', as('ada')), { status: 404 });
  });

  test('subprotocols, 101 headers, next() timing out, and close codes', async () => {
    await using t = await testServer(chat());
    const ada = await t.ws('/chat/lobby', { ...as('ada'), protocols: ['chat.v2', 'chat.v1'] });
    assert.equal(ada.protocol, 'chat.v1');
    assert.equal(ada.headers['sec-websocket-protocol'], 'chat.v1');
    await ada.next();
    await assert.rejects(ada.next(50), /no message within 50 ms/);
    assert.deepEqual(await ada.close(4000, 'bye'), { code: 4000, reason: 'bye' });
    await assert.rejects(ada.next(), /closed/);
  });

  test('close() ends open clients and the server; the app publishes in memory again', async () => {
    const app = chat();
    const t = await testServer(app);
    const ada = await t.ws('/chat/lobby', as('ada'));
    await ada.next();
    await t.close();
    await t.close(); // twice is harmless
    assert.equal((await ada.closed).code, 1006);
    await assert.rejects(fetch(t.url), 'the port no longer answers');
    const heard: WebSocketMessage[] = [];
    app.subscribe('lobby', (m) => heard.push(m));
    const res = await app.request('/rooms/lobby/announce', { method: 'POST', body: 'x' });
    assert.equal(res.status, 202);
    assert.deepEqual(heard, ['announcement: x']);
  });
});
