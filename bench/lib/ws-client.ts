/**
 * The WebSocket load client of `npm run bench -- ws`, run in its own process (pinned to the
 * load core). Bounded in messages and in time; prints one JSON line of results.
 *
 *   echo:  --url ws://…/echo --connections C --messages N --size B
 *          each connection sends, awaits the echo, sends again, until N messages in all
 *   fan:   --sub ws://…/sub --pub ws://…/pub --subscribers S --publishes P
 *          S subscribers, then P publishes one after another; per publish, the time from send
 *          until the last subscriber has it
 *   idle:  --url ws://…/echo --connections C   opens C sockets, reports when all are open,
 *          and holds them until stdin closes
 */
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    url: { type: 'string' },
    sub: { type: 'string' },
    pub: { type: 'string' },
    connections: { type: 'string', default: '64' },
    messages: { type: 'string', default: '100000' },
    size: { type: 'string', default: '32' },
    subscribers: { type: 'string', default: '1000' },
    publishes: { type: 'string', default: '20' },
    timeout: { type: 'string', default: '120000' },
  },
});

const deadline = setTimeout(() => {
  console.log(JSON.stringify({ error: 'timeout' }));
  process.exit(2);
}, Number(values.timeout));

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function openMany(url: string, n: number): Promise<WebSocket[]> {
  const out: WebSocket[] = [];
  // In batches: a burst of thousands of SYNs overflows the listen backlog.
  for (let i = 0; i < n; i += 200) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(200, n - i) }, () => open(url)))));
  }
  return out;
}

async function echo(): Promise<void> {
  const connections = Number(values.connections);
  const total = Number(values.messages);
  const payload = 'x'.repeat(Number(values.size));
  const sockets = await openMany(values.url!, connections);
  let sent = 0;
  let received = 0;
  const start = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    for (const ws of sockets) {
      ws.on('message', () => {
        received += 1;
        if (received === total) resolve();
        else if (sent < total) {
          sent += 1;
          ws.send(payload);
        }
      });
      if (sent < total) {
        sent += 1;
        ws.send(payload);
      }
    }
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  for (const ws of sockets) ws.terminate();
  console.log(JSON.stringify({ messages: received, seconds, perSecond: received / seconds }));
}

async function fan(): Promise<void> {
  const n = Number(values.subscribers);
  const publishes = Number(values.publishes);
  const subs = await openMany(values.sub!, n);
  const pub = await open(values.pub!);
  // Give the subscriptions time to reach a remote broker.
  await new Promise((r) => setTimeout(r, 500));
  const times: number[] = [];
  for (let p = 0; p < publishes; p++) {
    let got = 0;
    const tag = `m${p}`;
    const start = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      const on = (data: Buffer): void => {
        if (data.toString() !== tag) return;
        got += 1;
        if (got === n) resolve();
      };
      for (const ws of subs) ws.on('message', on);
      pub.send(tag);
    }).finally(() => {
      for (const ws of subs) ws.removeAllListeners('message');
    });
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const ws of [...subs, pub]) ws.terminate();
  console.log(JSON.stringify({ subscribers: n, msToLast: times }));
}

async function idle(): Promise<void> {
  const sockets = await openMany(values.url!, Number(values.connections));
  console.log(JSON.stringify({ open: sockets.filter((s) => s.readyState === 1).length }));
  clearTimeout(deadline);
  process.stdin.resume();
  process.stdin.on('end', () => {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  });
}

if (values.mode === 'echo') await echo();
else if (values.mode === 'fan') await fan();
else if (values.mode === 'idle') await idle();
else throw new Error('--mode echo|fan|idle');
clearTimeout(deadline);
