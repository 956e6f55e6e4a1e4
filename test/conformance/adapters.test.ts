/**
 * The Bun and Deno adapters' own rules, checked under Node (the conformance files run them on
 * the real runtimes): they import nothing from node:, and their shared pieces — the topic
 * registry, subprotocol selection, the waitUntil tracker, the 101's headers — behave as
 * strata's server does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { serveBun, toBun } from '../../src/gateway/bun.ts';
import { serveDeno, toDeno } from '../../src/gateway/deno.ts';
import {
  headersFor101,
  notAccepted,
  RuntimeServeInfo,
  remoteOf,
  selectProtocol,
  TopicHub,
  WaitUntilTracker,
} from '../../src/gateway/web-runtime.ts';
import type { Broker, BrokerListener, WebSocketMessage } from '../../src/gateway/websocket.ts';
import { MemoryBroker } from '../../src/realtime/memory-broker.ts';

const GATEWAY = join(import.meta.dirname, '..', '..', 'src', 'gateway');

test('the runtime adapters import no node: module, and nothing outside the gateway', () => {
  for (const file of ['bun.ts', 'deno.ts', 'web-runtime.ts']) {
    const source = readFileSync(join(GATEWAY, file), 'utf8');
    const specifiers = [...source.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'([^']+)'/gm)].map(
      (m) => m[1]!,
    );
    assert.ok(specifiers.length > 0, file);
    for (const s of specifiers) assert.match(s, /^\.\/[a-z-]+\.ts$/, `${file} imports ${s}`);
  }
});

test('the topic registry delivers to every other subscriber, counts, and forgets empty topics', () => {
  const hub = new TopicHub();
  const got: Record<string, WebSocketMessage[]> = { a: [], b: [], c: [] };
  const member = (name: string) => ({ deliver: (m: WebSocketMessage) => got[name]!.push(m) });
  const [a, b, c] = [member('a'), member('b'), member('c')];
  hub.subscribe(a, 'room');
  hub.subscribe(b, 'room');
  hub.subscribe(c, 'other');
  assert.equal(hub.subscriberCount('room'), 2);
  assert.equal(hub.deliver('room', 'hé', a), 3, 'the bytes sent');
  hub.publish('room', new Uint8Array([1, 2]));
  assert.deepEqual(got, { a: [new Uint8Array([1, 2])], b: ['hé', new Uint8Array([1, 2])], c: [] });
  assert.equal(hub.deliver('nobody', 'x', undefined), 0);
  hub.unsubscribe(a, 'room');
  hub.unsubscribe(b, 'room');
  assert.equal(hub.subscriberCount('room'), 0);
  assert.throws(() => hub.subscribe(a, ''), TypeError);
  assert.throws(() => hub.publish('x'.repeat(257), 'm'), TypeError);
  assert.throws(() => hub.publish('room', 42 as never), TypeError);
});

test('with a broker, two registries share their topics: each message once, no echo, broker subscribed first to last', async () => {
  const inner = new MemoryBroker();
  const calls: string[] = [];
  // The broker as a server sees it, its (un)subscriptions recorded.
  const broker: Broker = {
    kind: 'memory',
    publish(topic, data, origin) {
      if (calls.includes('close')) calls.push('publish after close');
      inner.publish(topic, data, origin);
    },
    subscribe(topic: string, listener: BrokerListener) {
      calls.push(`sub ${topic}`);
      inner.subscribe(topic, listener);
    },
    unsubscribe(topic: string, listener: BrokerListener) {
      calls.push(`unsub ${topic}`);
      inner.unsubscribe(topic, listener);
    },
    close: async () => {
      calls.push('close');
    },
  };
  const one = new TopicHub(broker);
  const two = new TopicHub(broker);
  const got: Record<string, WebSocketMessage[]> = { a: [], a2: [], b: [] };
  const member = (name: string) => ({ deliver: (m: WebSocketMessage) => got[name]!.push(m) });
  const [a, a2, b] = [member('a'), member('a2'), member('b')];
  one.subscribe(a, 'room');
  one.subscribe(a2, 'room');
  one.subscribe(a2, 'room');
  two.subscribe(b, 'room');
  assert.deepEqual(calls, ['sub room', 'sub room'], 'one broker subscription per registry');
  one.deliver('room', 'hi', a);
  two.publish('room', new Uint8Array([7]));
  assert.deepEqual(got, {
    a: [new Uint8Array([7])],
    a2: ['hi', new Uint8Array([7])],
    b: ['hi', new Uint8Array([7])],
  });
  assert.equal(one.subscriberCount('room'), 2, "the count is this process's own");
  one.unsubscribe(a, 'room');
  assert.deepEqual(calls, ['sub room', 'sub room']);
  one.unsubscribe(a2, 'room');
  assert.deepEqual(calls, ['sub room', 'sub room', 'unsub room'], 'the last one out unsubscribes');
  two.publish('room', 'after');
  assert.deepEqual(got.a2, ['hi', new Uint8Array([7])], 'nothing for a registry that left the topic');
  await two.close();
  assert.deepEqual(calls.slice(3), ['unsub room', 'close']);
  two.publish('room', 'closed');
  assert.deepEqual(got.b, ['hi', new Uint8Array([7]), 'after', 'closed'], 'local delivery goes on');
  assert.equal(calls.length, 5, 'a closed registry no longer calls its broker');
});

test('subprotocols are chosen as strata’s server chooses them', () => {
  assert.equal(selectProtocol(null, undefined), '');
  assert.equal(selectProtocol('a, b', undefined), '', 'a route without protocols ignores the offer');
  assert.equal(selectProtocol(null, ['v1']), '', 'no offer: none selected');
  assert.equal(selectProtocol('v0, v1', ['v2', 'v1']), 'v1');
  assert.equal(selectProtocol('v1, v2', ['v2', 'v1']), 'v2', 'the route’s preference wins');
  assert.equal(selectProtocol('v9', ['v1']), undefined, 'an offer none of which is spoken: refused');
});

test('waitUntil work is awaited at drain, late additions included, and a rejection goes to onError', async () => {
  const errors: unknown[] = [];
  const tracker = new WaitUntilTracker((e) => errors.push(e));
  const done: string[] = [];
  tracker.add(
    new Promise<void>((r) =>
      setTimeout(() => {
        done.push('first');
        tracker.add(Promise.resolve().then(() => done.push('late')));
        r();
      }, 10),
    ),
  );
  tracker.add(Promise.reject(new Error('background failed')));
  await tracker.drain();
  assert.deepEqual(done, ['first', 'late']);
  assert.equal(tracker.size, 0);
  assert.equal((errors[0] as Error).message, 'background failed');
});

test('ServeInfo: remote resolved once, upgrade only on handshakes, the 101 keeps middleware headers', () => {
  let calls = 0;
  const tracker = new WaitUntilTracker(() => {});
  const resolve = () => {
    calls++;
    return remoteOf('::1', 5);
  };
  const plain = new RuntimeServeInfo(resolve, tracker, true, false);
  assert.equal(plain.upgrade, undefined);
  assert.deepEqual(plain.remote, { address: '::1', port: 5, family: 'IPv6' });
  assert.equal(plain.remote, plain.remote);
  assert.equal(calls, 1);
  assert.equal(plain.secure, true);
  assert.equal(plain.protocol, 'http/1.1');

  const ws = new RuntimeServeInfo(() => remoteOf('127.0.0.1', 1), tracker, false, true);
  assert.throws(() => ws.upgrade!({} as never), TypeError);
  const marker = ws.upgrade!(
    { message() {} } as never,
    { headers: { 'x-own': '1', upgrade: 'no' } } as never,
  );
  assert.equal(marker, ws.marker);
  marker.headers.set('set-cookie', 'a=1');
  marker.headers.set('content-type', 'text/plain');
  const headers = headersFor101(marker, ws.pending!);
  assert.deepEqual(
    [...headers],
    [
      ['set-cookie', 'a=1'],
      ['x-own', '1'],
    ],
  );
  assert.equal(notAccepted(new Response('ok')).status, 400, 'a 2xx to a handshake is a 400');
  const denied = new Response(null, { status: 401 });
  assert.equal(notAccepted(denied), denied, 'the app’s own refusal is sent as is');
});

test('outside their runtime, the adapters say so', async () => {
  await assert.rejects(serveBun({ fetch: () => new Response() }), /runs on Bun only/);
  await assert.rejects(serveDeno({ fetch: () => new Response() }), /runs on Deno only/);
  assert.throws(() => toDeno({ fetch: () => new Response() }), /runs on Deno only/);
  assert.equal(
    typeof toBun({ fetch: () => new Response() }).fetch,
    'function',
    'toBun only builds an object',
  );
});
