/**
 * `npm run bench -- ws [--rounds N] [--messages N] [--connections N] [--subscribers N] [--idle N] [--only echo,fan,idle]`
 *
 * 1. echo: messages per second and server CPU per message, strata against a bare `ws` server,
 *    interleaved rounds, median of per-round ratios; floor strata ≤ 1.1× bare ws CPU/message.
 * 2. fan-out: one publish to N subscribers (1,000), time until the last has it: memory broker
 *    (one process) and through Redis (publish on instance 1, subscribers on instance 2).
 * 3. memory per idle connection: server RSS growth over N (5,000) open sockets, strata and bare ws.
 *
 * Servers run pinned to core 0, the load client (bench/lib/ws-client.ts) to core 1.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { redisAvailable, startRedis } from '../test/fixtures/redis.ts';
import { treeCpuUs } from './lib/process-tree.ts';
import { type ServerProcess, startServer } from './lib/server-process.ts';

const SERVER_CORE = 0;
const LOAD_CORE = 1;
const here = import.meta.dirname;
const CLIENT = join(here, 'lib', 'ws-client.ts');

const { values } = parseArgs({
  args: process.argv.slice(3),
  options: {
    rounds: { type: 'string', default: '5' },
    messages: { type: 'string', default: '100000' },
    connections: { type: 'string', default: '64' },
    subscribers: { type: 'string', default: '1000' },
    publishes: { type: 'string', default: '20' },
    idle: { type: 'string', default: '5000' },
    only: { type: 'string' },
  },
});
const only = values.only?.split(',');
const wants = (part: string): boolean => only === undefined || only.includes(part);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs the load client on the load core and returns its JSON line. */
function client(
  args: string[],
  options: { holdOpen?: boolean } = {},
): Promise<Record<string, unknown>> & {
  release?: () => void;
} {
  const child = spawn('taskset', ['-c', String(LOAD_CORE), process.execPath, CLIENT, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  const result = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stdout!.on('data', (c) => {
      out += c;
      const nl = out.indexOf('\n');
      if (nl !== -1 && options.holdOpen) resolve(JSON.parse(out.slice(0, nl)));
    });
    child.once('exit', (code) => {
      if (options.holdOpen) return;
      try {
        const parsed = JSON.parse(out.trim().split('\n').at(-1) ?? '');
        if (code !== 0 || parsed.error !== undefined) reject(new Error(`client failed (${code}): ${out}`));
        else resolve(parsed);
      } catch {
        reject(new Error(`client printed no result (${code}): ${out}`));
      }
    });
  }) as Promise<Record<string, unknown>> & { release?: () => void };
  result.release = () => child.stdin!.end();
  if (!options.holdOpen) child.stdin!.end();
  return result;
}

/** A port nobody listens on now (other benchmarks share the machine). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

const node = process.execPath;
const strataServer = async (env?: Record<string, string>) =>
  startServer({
    name: 'strata',
    command: node,
    args: [join(here, 'servers', 'ws-strata.ts')],
    port: await freePort(),
    core: SERVER_CORE,
    ...(env === undefined ? {} : { env }),
  });
const bareServer = async () =>
  startServer({
    name: 'ws',
    command: node,
    args: [join(here, 'servers', 'ws-bare.ts')],
    port: await freePort(),
    core: SERVER_CORE,
  });

const report: Record<string, unknown> = { node: process.version };
let floorsMet = true;

if (wants('echo')) {
  const rounds = Number(values.rounds);
  const messages = Number(values.messages);
  const connections = Number(values.connections);
  console.log(
    `# ws echo: ${rounds} rounds x ${messages} messages of 32 bytes, ${connections} connections (one in flight each); server on core ${SERVER_CORE}, client on core ${LOAD_CORE}`,
  );
  const servers: ServerProcess[] = [await bareServer(), await strataServer()];
  const samples: { target: string; round: number; cpuUsPerMessage: number; perSecond: number }[] = [];
  try {
    const args = (s: ServerProcess, n: number) => [
      '--mode',
      'echo',
      '--url',
      `${s.url.replace('http', 'ws')}echo`,
      '--connections',
      String(connections),
      '--messages',
      String(n),
    ];
    for (const s of servers) await client(args(s, Math.min(messages, 20_000)));
    for (let round = 0; round < rounds; round++) {
      const order = servers.map((_, i) => servers[(i + round) % servers.length]!);
      for (const s of order) {
        const before = treeCpuUs(s.pid);
        const result = await client(args(s, messages));
        const after = treeCpuUs(s.pid);
        samples.push({
          target: s.name,
          round,
          cpuUsPerMessage: (after - before) / (result.messages as number),
          perSecond: result.perSecond as number,
        });
      }
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  const of = (name: string, round: number) => samples.find((x) => x.target === name && x.round === round)!;
  const ratio = median(
    Array.from({ length: rounds }, (_, r) => of('strata', r).cpuUsPerMessage / of('ws', r).cpuUsPerMessage),
  );
  const rows = ['ws', 'strata'].map((name) => {
    const mine = samples.filter((x) => x.target === name);
    return [
      name,
      median(mine.map((x) => x.cpuUsPerMessage)).toFixed(2),
      Math.round(median(mine.map((x) => x.perSecond))).toString(),
      name === 'strata' ? ratio.toFixed(3) : '1.000',
    ];
  });
  table(['target', 'CPU µs/msg', 'msg/s', 'CPU × bare ws (median of per-round ratios)'], rows);
  const ok = ratio <= 1.1;
  floorsMet &&= ok;
  console.log(`floor: strata CPU/message ≤ 1.1× bare ws: ${ratio.toFixed(3)} ${ok ? 'MET' : 'NOT MET'}\n`);
  report.echo = { rounds, messages, connections, ratio, samples };
}

if (wants('fan')) {
  const subscribers = Number(values.subscribers);
  const publishes = Number(values.publishes);
  console.log(
    `# ws fan-out: one publish to ${subscribers} subscribers, ${publishes} publishes; ms until the last has it`,
  );
  const fanArgs = (pub: ServerProcess, sub: ServerProcess) => [
    '--mode',
    'fan',
    '--sub',
    `${sub.url.replace('http', 'ws')}sub`,
    '--pub',
    `${pub.url.replace('http', 'ws')}pub`,
    '--subscribers',
    String(subscribers),
    '--publishes',
    String(publishes),
  ];
  const rows: string[][] = [];
  const fan: Record<string, number[]> = {};
  const memory = await strataServer();
  try {
    const result = await client(fanArgs(memory, memory));
    fan.memory = result.msToLast as number[];
  } finally {
    await memory.stop();
  }
  const redisOk = (() => {
    try {
      return redisAvailable();
    } catch {
      return false;
    }
  })();
  if (redisOk === true) {
    const redis = await startRedis();
    const one = await strataServer({ REDIS_URL: redis.url });
    const two = await strataServer({ REDIS_URL: redis.url });
    try {
      const result = await client(fanArgs(one, two));
      fan.redis = result.msToLast as number[];
    } finally {
      await Promise.all([one.stop(), two.stop()]);
      await redis.stop();
    }
  } else console.log(`(Redis fan-out skipped: ${String(redisOk)})`);
  for (const [name, times] of Object.entries(fan)) {
    rows.push([
      name === 'memory' ? 'memory broker (one process)' : 'Redis (publish on 1, subscribers on 2)',
      median(times).toFixed(2),
      Math.min(...times).toFixed(2),
      Math.max(...times).toFixed(2),
    ]);
  }
  table(['path', 'median ms to last', 'min', 'max'], rows);
  console.log();
  report.fan = { subscribers, publishes, ...fan };
}

if (wants('idle')) {
  const n = Number(values.idle);
  console.log(`# ws idle: server RSS growth over ${n} open, idle connections`);
  const rows: string[][] = [];
  const idle: Record<string, number> = {};
  for (const start of [() => bareServer(), () => strataServer()]) {
    const s = await start();
    try {
      // One connection and a pause first, so that lazy startup work is not counted.
      const warm = client(
        ['--mode', 'idle', '--url', `${s.url.replace('http', 'ws')}echo`, '--connections', '1'],
        {
          holdOpen: true,
        },
      );
      await warm;
      warm.release?.();
      await new Promise((r) => setTimeout(r, 1000));
      const before = rssKb(s.pid);
      const held = client(
        ['--mode', 'idle', '--url', `${s.url.replace('http', 'ws')}echo`, '--connections', String(n)],
        {
          holdOpen: true,
        },
      );
      const opened = await held;
      await new Promise((r) => setTimeout(r, 2000));
      const after = rssKb(s.pid);
      held.release?.();
      const perConn = ((after - before) * 1024) / n;
      idle[s.name] = perConn;
      rows.push([
        s.name,
        String(opened.open),
        `${before} KB`,
        `${after} KB`,
        `${(perConn / 1024).toFixed(2)} KB`,
      ]);
    } finally {
      await s.stop();
    }
  }
  table(['target', 'open', 'RSS before', 'RSS after', 'per connection'], rows);
  console.log();
  report.idle = { connections: n, bytesPerConnection: idle };
}

const dir = join(here, 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `ws-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(report, null, 2));
console.log(`raw results: ${file}`);
if (!floorsMet) process.exitCode = 1;
