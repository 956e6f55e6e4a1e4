/**
 * The primary ↔ worker hand-over of ACME, over an in-memory stand-in for the supervisor's IPC:
 * every ready worker holds a token before the CA is told, a certificate reaches every worker, a
 * late worker's hello brings it the pending token and the certificate, and no worker at all is
 * an error (the CA would find nobody to answer).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../../src/observe/logger.ts';
import type { WorkerChannel } from '../../../src/parallel/ipc.ts';
import { ACME_CHALLENGE_PREFIX } from '../../../src/server/acme/challenges.ts';
import type { CertificateSink } from '../../../src/server/acme/sink.ts';
import { type AcmeSupervisor, AcmeWorker, shareWithWorkers } from '../../../src/server/acme/workers.ts';

const silent = createLogger({ level: 'silent' });
const TOKEN = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA';

/** One worker's end: handlers and listeners, reached by the hub. */
class FakeChannel implements WorkerChannel {
  readonly workerId: number;
  readonly handlers = new Map<string, (payload: unknown) => unknown>();
  readonly listeners = new Map<string, ((payload: unknown) => void)[]>();
  readonly #hub: Hub;
  constructor(hub: Hub, id: number) {
    this.#hub = hub;
    this.workerId = id;
  }
  handle(type: string, handler: (payload: unknown) => unknown): void {
    this.handlers.set(type, handler);
  }
  on(type: string, listener: (payload: unknown) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  send(type: string, payload: unknown): boolean {
    for (const l of this.#hub.primaryListeners.get(type) ?? []) l(payload, this.workerId);
    return true;
  }
  deliver(type: string, payload: unknown): void {
    for (const l of this.listeners.get(type) ?? []) l(payload);
  }
}

/** The supervisor's side, in memory: only `ready` workers are reached, as the real one does. */
class Hub implements AcmeSupervisor {
  readonly ready: FakeChannel[] = [];
  readonly primaryListeners = new Map<string, ((payload: unknown, workerId: number) => void)[]>();
  async collect(type: string, payload: unknown): Promise<unknown[]> {
    const answers: unknown[] = [];
    for (const w of this.ready) {
      const h = w.handlers.get(type);
      if (h !== undefined) answers.push(await h(payload));
    }
    return answers;
  }
  broadcast(type: string, payload: unknown): void {
    for (const w of this.ready) w.deliver(type, payload);
  }
  on(type: string, listener: (payload: unknown, workerId: number) => void): void {
    this.primaryListeners.set(type, [...(this.primaryListeners.get(type) ?? []), listener]);
  }
  send(workerId: number, type: string, payload: unknown): boolean {
    const w = this.ready.find((c) => c.workerId === workerId);
    w?.deliver(type, payload);
    return w !== undefined;
  }
}

class RecordingSink implements CertificateSink {
  readonly installs: string[][] = [];
  install(names: string[]): void {
    this.installs.push(names);
  }
}

function worker(hub: Hub, id: number): { acme: AcmeWorker; sink: RecordingSink; channel: FakeChannel } {
  const channel = new FakeChannel(hub, id);
  const sink = new RecordingSink();
  return { acme: new AcmeWorker(channel, sink, silent), sink, channel };
}

test('a challenge is held by every ready worker before add() resolves, and gone after remove()', async () => {
  const hub = new Hub();
  const a = worker(hub, 1);
  const b = worker(hub, 2);
  hub.ready.push(a.channel, b.channel);
  const { publisher } = shareWithWorkers(hub, silent);
  await publisher.add(TOKEN, `${TOKEN}.thumb`);
  for (const w of [a, b]) assert.equal(w.acme.http01(`${ACME_CHALLENGE_PREFIX}${TOKEN}`), `${TOKEN}.thumb`);
  await publisher.remove(TOKEN);
  for (const w of [a, b]) assert.equal(w.acme.http01(`${ACME_CHALLENGE_PREFIX}${TOKEN}`), undefined);
});

test('a certificate reaches every worker; a late worker gets the pending token and the certificate on hello', async () => {
  const hub = new Hub();
  const a = worker(hub, 1);
  hub.ready.push(a.channel);
  const { publisher, sink } = shareWithWorkers(hub, silent);
  await publisher.add(TOKEN, `${TOKEN}.thumb`);
  await sink.install(['a.example.com'], { cert: 'CERT', key: 'KEY' });
  assert.deepEqual(a.sink.installs, [['a.example.com']]);
  const late = worker(hub, 2);
  hub.ready.push(late.channel);
  assert.equal(late.acme.http01(`${ACME_CHALLENGE_PREFIX}${TOKEN}`), undefined);
  late.acme.hello();
  assert.equal(late.acme.http01(`${ACME_CHALLENGE_PREFIX}${TOKEN}`), `${TOKEN}.thumb`);
  assert.deepEqual(late.sink.installs, [['a.example.com']]);
});

test('no ready worker: add() rejects (the order fails and is retried, rather than failing at the CA)', async () => {
  const { publisher } = shareWithWorkers(new Hub(), silent);
  await assert.rejects(publisher.add(TOKEN, 'x'), /no worker is ready/);
});

test('malformed messages from the channel are ignored', async () => {
  const hub = new Hub();
  const a = worker(hub, 1);
  for (const payload of [
    null,
    42,
    { token: 5 },
    { names: 'x', cert: 1 },
    { token: '../x', keyAuthorization: 'y' },
  ]) {
    a.channel.deliver('strata:acme:challenge', payload);
    a.channel.deliver('strata:acme:certificate', payload);
  }
  await new Promise((r) => setImmediate(r));
  assert.equal(a.acme.tokens.size, 0);
  assert.deepEqual(a.sink.installs, []);
});
