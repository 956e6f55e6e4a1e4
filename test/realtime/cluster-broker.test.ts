import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { relayCluster } from '../../src/realtime/index.ts';
import { openClient, wsUrl } from '../fixtures/ws.ts';

const WORKER = join(import.meta.dirname, '..', 'fixtures', 'realtime', 'cluster-worker.ts');

describe('cluster broker: two worker processes, relayed by the primary', () => {
  const workers = new Map<number, ChildProcess>();
  const ports: number[] = [];

  before(async () => {
    // This test process plays the supervisor's primary, with its `on` / `broadcast`.
    const listeners = new Map<string, (payload: unknown, id: number) => void>();
    relayCluster({
      on: (type, fn) => void listeners.set(type, fn),
      broadcast(type, payload, except) {
        for (const [id, child] of workers) if (id !== except) child.send({ type, payload });
      },
    });
    await Promise.all(
      [1, 2].map(
        (id) =>
          new Promise<void>((resolve, reject) => {
            const child = fork(WORKER, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
            workers.set(id, child);
            child.on('message', (m: { type: string; payload: unknown }) => {
              if (m.type === 'listening') {
                ports[id - 1] = m.payload as number;
                resolve();
              } else listeners.get(m.type)?.(m.payload, id);
            });
            child.once('exit', (code) => reject(new Error(`worker ${id} exited with ${code}`)));
          }),
      ),
    );
  });
  after(async () => {
    await Promise.all(
      [...workers.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.send({ type: 'stop' });
          }),
      ),
    );
  });

  test('a message published in worker A reaches a client connected to worker B', async () => {
    const a = await openClient(wsUrl(`http://127.0.0.1:${ports[0]}`, '/room/lobby'));
    const b = await openClient(wsUrl(`http://127.0.0.1:${ports[1]}`, '/room/lobby'));
    const joinedA = String(await a.next());
    const joinedB = String(await b.next());
    assert.notEqual(joinedA, joinedB, 'the two clients are on different processes');
    a.ws.send('hello from A');
    assert.equal(await b.next(), 'hello from A');
    b.ws.send(Buffer.from([0, 255, 10]));
    assert.deepEqual(await a.next(), Buffer.from([0, 255, 10]));
    // app.publish in worker B reaches both, each once.
    b.ws.send('app');
    const pidB = joinedB.split(' ')[1];
    assert.equal(await a.next(), `app.publish from ${pidB}`);
    assert.equal(await b.next(), `app.publish from ${pidB}`);
    await assert.rejects(a.next(200), 'no duplicate');
    a.ws.close();
    b.ws.close();
  });
});

describe('cluster broker messages', () => {
  // An in-process pair of channels, for what forked workers cannot easily show: malformed input.
  function channelPair() {
    const handlers = new Map<string, (payload: unknown) => void>();
    const sent: unknown[] = [];
    return {
      channel: {
        send: (_type: string, payload: unknown) => void sent.push(payload),
        on: (type: string, fn: (payload: unknown) => void) => void handlers.set(type, fn),
      },
      deliver: (payload: unknown) => handlers.get('strata:publish')?.(payload),
      sent,
    };
  }

  test('malformed relayed messages are ignored, well-formed ones delivered (binary intact)', async () => {
    const { ClusterBroker } = await import('../../src/realtime/index.ts');
    const pair = channelPair();
    const broker = new ClusterBroker(pair.channel);
    const got: unknown[] = [];
    broker.subscribe('t', (topic, data, origin) => got.push([topic, data, origin]));
    for (const bad of [
      null,
      'x',
      42,
      {},
      { topic: 't' },
      { topic: 't', data: 1, binary: false, origin: 'o' },
      { topic: 't', data: 'x', binary: 'no', origin: 'o' },
    ]) {
      pair.deliver(bad);
    }
    assert.deepEqual(got, []);
    pair.deliver({
      topic: 't',
      data: Buffer.from([0, 1, 255]).toString('base64'),
      binary: true,
      origin: 'w2',
    });
    pair.deliver({ topic: 't', data: 'text', binary: false, origin: 'w2' });
    assert.deepEqual(got, [
      ['t', Buffer.from([0, 1, 255]), 'w2'],
      ['t', 'text', 'w2'],
    ]);
    broker.publish('t', new Uint8Array([9, 8]), 'w1');
    assert.deepEqual(pair.sent, [
      { topic: 't', data: Buffer.from([9, 8]).toString('base64'), binary: true, origin: 'w1' },
    ]);
    await broker.close();
    assert.throws(() => broker.publish('t', 'x', 'w1'), { code: 'STRATA_ERR_BROKER_CLOSED' });
  });
});
