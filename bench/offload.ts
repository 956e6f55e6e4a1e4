/**
 * offload: what a CPU-heavy route does to every other request, with the work on the thread pool
 * versus inline on the event loop (parallelism issue, benchmark 1).
 *
 * The showcase runs as `strata serve` (cores 0-1, so the loop and a pool thread can both run);
 * wrk hammers `/api/primes[-inline]?limit=…` with 2 connections while a second wrk measures the
 * light `/api/status` route's latency with 4 connections. Rounds alternate the two modes; the
 * light route alone is measured too, as the floor of what is possible.
 *
 * `npm run bench -- offload [--rounds 3] [--seconds 5] [--limit 1000000]`
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from './lib/server-process.ts';

const { values } = parseArgs({
  args: process.argv.slice(3),
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    limit: { type: 'string', default: '1000000' },
  },
  strict: false,
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const limit = Number(values.limit);

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function ms(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (m === null) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

function wrk(url: string, connections: number, duration: number, core: string): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', [
      '-c',
      core,
      'wrk',
      '-t1',
      `-c${connections}`,
      `-d${duration}s`,
      '--timeout',
      '10s',
      '--latency',
      url,
    ]);
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.once('error', reject);
    child.once('exit', () => {
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN);
      const p50 = ms(/\n\s+50%\s+(\S+)/.exec(out)?.[1] ?? '');
      const p99 = ms(/\n\s+99%\s+(\S+)/.exec(out)?.[1] ?? '');
      const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const errors = (errs === null ? 0 : errs.slice(1).reduce((a, b) => a + Number(b), 0)) + non2xx;
      if (Number.isNaN(rps)) reject(new Error(`wrk printed no result:\n${out}`));
      else resolve({ rps, p50, p99, errors });
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const port = 20_000 + Math.floor(Math.random() * 20_000);
const root = join(import.meta.dirname, '..');
const server = await startServer({
  name: 'showcase',
  command: process.execPath,
  args: [
    join(root, 'src/cli/main.ts'),
    'serve',
    join(root, 'examples/showcase/app.ts'),
    '--port',
    String(port),
  ],
  port,
  core: '0,1',
});
const base = `http://127.0.0.1:${port}`;
const samples: Record<string, WrkResult[]> = { alone: [], pool: [], inline: [] };
const heavy: Record<string, number[]> = { pool: [], inline: [] };
try {
  // Warm-up: JIT, the pool's threads.
  await wrk(`${base}/api/status`, 4, 1, '1');
  await wrk(`${base}/api/primes?limit=${limit}`, 2, 1, '1');
  for (let r = 0; r < rounds; r++) {
    samples.alone!.push(await wrk(`${base}/api/status`, 4, seconds, '1'));
    for (const mode of r % 2 === 0 ? ['pool', 'inline'] : ['inline', 'pool']) {
      const path = mode === 'pool' ? '/api/primes' : '/api/primes-inline';
      const load = wrk(`${base}${path}?limit=${limit}`, 2, seconds + 2, '1');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      samples[mode]!.push(await wrk(`${base}/api/status`, 4, seconds, '1'));
      heavy[mode]!.push((await load).rps);
    }
    console.log(`round ${r + 1}/${rounds} done`);
  }
} finally {
  await server.stop();
}

console.log(
  `\noffload: light GET /api/status (wrk -c4) while GET /api/primes?limit=${limit} is hammered (wrk -c2); median of ${rounds} rounds × ${seconds} s`,
);
console.log('| heavy work          | light p50 (ms) | light p99 (ms) | light req/s | heavy req/s | errors |');
console.log('|---------------------|---------------:|---------------:|------------:|------------:|-------:|');
for (const [mode, label] of [
  ['alone', 'none (light alone)'],
  ['pool', 'on the thread pool'],
  ['inline', 'inline on the loop'],
] as const) {
  const s = samples[mode]!;
  const h = mode === 'alone' ? '—' : median(heavy[mode]!).toFixed(1);
  console.log(
    `| ${label.padEnd(19)} | ${median(s.map((x) => x.p50))
      .toFixed(2)
      .padStart(14)} | ${median(s.map((x) => x.p99))
      .toFixed(2)
      .padStart(14)} | ${median(s.map((x) => x.rps))
      .toFixed(0)
      .padStart(11)} | ${h.padStart(11)} | ${String(s.reduce((a, x) => a + x.errors, 0)).padStart(6)} |`,
  );
}
