/**
 * `app.publish()` without a server: the in-memory hub, what `app.subscribe()` listens to, so a
 * route that publishes answers under `app.request()` and a test can see what it published.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App, type PubSub, type WebSocketMessage } from '../../src/index.ts';

function announcing(): App {
  const app = new App();
  app.post('/rooms/:room/say', async (c) => {
    app.publish(`room:${c.params.room}`, await c.req.text());
    return c.json({ listeners: app.subscriberCount(`room:${c.params.room}`) }, 202);
  });
  return app;
}

describe('app.publish under app.request()', () => {
  test('a route that publishes answers, with nobody listening', async () => {
    const app = announcing();
    const res = await app.request('/rooms/a/say', { method: 'POST', body: 'hi' });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { listeners: 0 });
  });

  test('app.subscribe sees what was published, on its topic only, until it stops', async () => {
    const app = announcing();
    const seen: [WebSocketMessage, string][] = [];
    const stop = app.subscribe('room:a', (data, topic) => seen.push([data, topic]));
    const other: WebSocketMessage[] = [];
    app.subscribe('room:b', (data) => other.push(data));
    assert.equal(app.subscriberCount('room:a'), 1);

    const res = await app.request('/rooms/a/say', { method: 'POST', body: 'hello' });
    assert.deepEqual(await res.json(), { listeners: 1 });
    assert.deepEqual(seen, [['hello', 'room:a']]);
    assert.deepEqual(other, []);

    stop();
    stop(); // twice is harmless
    assert.equal(app.subscriberCount('room:a'), 0);
    await app.request('/rooms/a/say', { method: 'POST', body: 'again' });
    assert.equal(seen.length, 1);
  });

  test('binary data arrives as a Uint8Array of its own, as a socket would get it', () => {
    const app = new App();
    const seen: WebSocketMessage[] = [];
    app.subscribe('bin', (data) => seen.push(data));
    const bytes = new Uint8Array([1, 2, 3, 4]);
    app.publish('bin', bytes.subarray(1, 3));
    app.publish('bin', new Uint16Array([0x0201]).buffer);
    bytes[1] = 9; // the publisher reusing its buffer does not change what was delivered
    assert.deepEqual(seen, [new Uint8Array([2, 3]), new Uint8Array([1, 2])]);
  });

  test('topics and messages are checked as the server checks them', () => {
    const app = new App();
    for (const topic of ['', 'x'.repeat(257), 42 as unknown as string]) {
      assert.throws(() => app.publish(topic, 'x'), { code: 'STRATA_ERR_WS_TOPIC' });
      assert.throws(() => app.subscribe(topic, () => {}), { code: 'STRATA_ERR_WS_TOPIC' });
    }
    for (const data of [{}, null, 42]) {
      assert.throws(() => app.publish('t', data as unknown as string), { code: 'STRATA_ERR_WS_MESSAGE' });
    }
    assert.doesNotThrow(() => app.publish('x'.repeat(256), ''));
  });

  test('mounted apps share the root app hub, whichever side publishes or listens', async () => {
    const app = new App();
    const api = new App();
    api.post('/say', async (c) => {
      api.publish('lobby', await c.req.text());
      return c.empty();
    });
    app.route('/api', api);
    app.post('/shout', async (c) => {
      app.publish('lobby', (await c.req.text()).toUpperCase());
      return c.empty();
    });
    const seenByRoot: WebSocketMessage[] = [];
    const seenByChild: WebSocketMessage[] = [];
    app.subscribe('lobby', (d) => seenByRoot.push(d));
    api.subscribe('lobby', (d) => seenByChild.push(d));
    assert.equal((await app.request('/api/say', { method: 'POST', body: 'a' })).status, 204);
    assert.equal((await app.request('/shout', { method: 'POST', body: 'b' })).status, 204);
    assert.deepEqual(seenByRoot, ['a', 'B']);
    assert.deepEqual(seenByChild, ['a', 'B']);
    assert.equal(api.subscriberCount('lobby'), 2);
  });

  test('listeners added before an app is mounted keep hearing it, and the root', () => {
    const root = new App();
    const child = new App();
    const early: WebSocketMessage[] = [];
    const rootEarly: WebSocketMessage[] = [];
    const stop = child.subscribe('t', (d) => early.push(d));
    root.subscribe('t', (d) => rootEarly.push(d));
    root.route('/child', child);
    child.publish('t', 'from the child');
    root.publish('t', 'from the root');
    assert.deepEqual(early, ['from the child', 'from the root']);
    assert.deepEqual(rootEarly, ['from the child', 'from the root']);
    stop();
    assert.equal(root.subscriberCount('t'), 1);
  });

  test('apps do not hear each other', () => {
    const one = new App();
    const two = new App();
    const heard: WebSocketMessage[] = [];
    two.subscribe('t', (d) => heard.push(d));
    one.publish('t', 'x');
    assert.deepEqual(heard, []);
  });

  test('a listener that throws fails the publishing request, as a test wants to know', async () => {
    const app = announcing();
    app.subscribe('room:a', () => {
      throw new Error('listener failed');
    });
    const res = await new App({ log: false })
      .route('/', app)
      .request('/rooms/a/say', { method: 'POST', body: 'x' });
    assert.equal(res.status, 500);
  });

  test("a server's hub, once attached, takes every publish; detached, the in-memory hub is back", () => {
    const app = new App();
    const api = new App();
    app.route('/api', api);
    const sent: [string, unknown][] = [];
    const hub: PubSub = {
      publish: (topic, data) => void sent.push([topic, data]),
      subscriberCount: () => 7,
    };
    const local: WebSocketMessage[] = [];
    app.subscribe('t', (d) => local.push(d));

    app.attachPubSub(hub);
    app.publish('t', 'to the server');
    api.publish('t', 'from a mounted app');
    assert.deepEqual(sent, [
      ['t', 'to the server'],
      ['t', 'from a mounted app'],
    ]);
    assert.equal(app.subscriberCount('t'), 7);
    assert.deepEqual(local, [], 'the in-memory hub is not used while a server is attached');

    app.attachPubSub(undefined);
    app.publish('t', 'local again');
    assert.deepEqual(local, ['local again']);
    assert.equal(app.subscriberCount('t'), 1);
  });
});
