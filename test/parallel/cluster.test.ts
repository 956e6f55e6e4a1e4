import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import WebSocket from 'ws';
import { freePort } from '../fixtures/ports.ts';
import { seriesValue } from '../fixtures/prometheus.ts';
import { killAll, ROOT, startPrimary } from '../fixtures/supervisor.ts';

after(killAll);

const APP = join(ROOT, 'test', 'fixtures', 'apps', 'cluster-room.ts');

interface Client {
  ws: WebSocket;
  pid: number;
  next(): Promise<string>;
}

/** Opens a socket to the room; resolves with the pid of the worker that took it. */
function join_(url: string): Promise<Client> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/room`);
  const inbox: string[] = [];
  const waiting: ((m: string) => void)[] = [];
  ws.on('message', (data) => {
    const text = String(data);
    const w = waiting.shift();
    if (w !== undefined) w(text);
    else inbox.push(text);
  });
  const next = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const m = inbox.shift();
      if (m !== undefined) return resolve(m);
      const timer = setTimeout(() => reject(new Error('no message within 5 s')), 5000);
      waiting.push((text) => {
        clearTimeout(timer);
        resolve(text);
      });
    });
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', async () =>
      resolve({ ws, pid: (JSON.parse(await next()) as { pid: number }).pid, next }),
    );
  });
}

test('--workers 2: a message published in worker A reaches a client of worker B; /metrics sums both and counts reloads', async () => {
  const adminPort = await freePort();
  const primary = await startPrimary(['--workers', '2', '--admin', `127.0.0.1:${adminPort}`], APP);
  const clients: Client[] = [];
  try {
    // The primary hands connections to the workers in turn: open until both have one.
    for (let i = 0; i < 20 && new Set(clients.map((c) => c.pid)).size < 2; i++)
      clients.push(await join_(primary.url));
    const a = clients[0]!;
    const b = clients.find((c) => c.pid !== a.pid);
    assert.ok(b !== undefined, 'sockets landed on two different workers');
    a.ws.send('hello from A');
    assert.equal(await b.next(), 'hello from A', 'delivered across processes through the primary');

    for (let i = 0; i < 20; i++) assert.equal((await fetch(`${primary.url}/pid`)).status, 200);
    const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.equal(
      seriesValue(text, 'strata_http_requests_total{method="GET",route="/pid",status="200"}'),
      20,
      'the counts of both workers, summed',
    );
    assert.equal(seriesValue(text, 'strata_workers{state="ready"}'), 2);
    assert.equal((await fetch(`${primary.url}/metrics`)).status, 404, 'the public port has no /metrics');

    // A rolling reload shows in the supervisor's own series.
    primary.signal('SIGHUP');
    await primary.waitForLine((l) => l.msg === 'supervisor: rolling reload finished', 20_000, 'the reload');
    const after = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    assert.equal(seriesValue(after, 'strata_worker_restarts_total{reason="reload"}'), 2);
  } finally {
    for (const c of clients) c.ws.terminate();
    primary.signal('SIGTERM');
    assert.equal((await primary.exited).code, 0);
  }
});
