import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { h2load, type LoadResult } from './h2load.ts';
import { treeCpuUs } from './process-tree.ts';
import { freePort, type ServerProcess, startServer } from './server-process.ts';
import { benchChart } from './svg-chart.ts';

/** One server in a scenario: a command that listens on $PORT. */
export interface Target {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
}

/** A target that runs `bench/servers/<file>` on the repo's Node. */
export function nodeTarget(name: string, file: string, env?: Record<string, string>): Target {
  const target: Target = {
    name,
    command: process.execPath,
    args: [join(import.meta.dirname, '..', 'servers', file)],
  };
  if (env !== undefined) target.env = env;
  return target;
}

/** A load scenario: the same request against every target, interleaved. */
export interface Scenario {
  name: string;
  description: string;
  /** Request path (and query). */
  path: string;
  /** Several paths, spread round-robin over the requests (h2load -i); `path` is then only the readiness probe. */
  paths?: string[];
  targets: Target[];
  /** The target every ratio is taken against (raw node:http). */
  baseline: string;
  /** The target being judged (strata). */
  subject: string;
  headers?: string[];
  /** A request body: every request is then a POST of it (h2load -d; set its Content-Type in `headers`). */
  body?: string;
  /** HTTP/2 over TLS (every target listens with TLS and ALPN h2), `streams` per connection (h2load -m). */
  http2?: { streams: number };
  /** The issue's floors: `of`'s (default: the subject's) CPU per request at most `max` × that of `vs`. */
  floors?: { of?: string; vs: string; max: number }[];
  /** `https`: the servers listen with TLS (h2load negotiates http/1.1 by ALPN). Default http. */
  scheme?: 'http' | 'https';
  /**
   * Requests per connection, when a scenario measures connections (TLS handshakes): h2load runs
   * in batches of `--connections` new connections, each sending this many requests, until
   * `--requests` are sent. Default: one connection per client for the whole run (keep-alive).
   */
  perConnection?: number;
}

/** h2load, or for `perConnection` scenarios h2load in batches of fresh connections, summed. */
async function loadRun(scenario: Scenario, options: Parameters<typeof h2load>[0]): Promise<LoadResult> {
  const per = scenario.perConnection;
  if (per === undefined) return h2load(options);
  const sum: LoadResult = {
    requests: 0,
    succeeded: 0,
    failed: 0,
    errored: 0,
    status2xx: 0,
    statusOther: 0,
    reqPerSec: 0,
    raw: '',
  };
  const started = performance.now();
  while (sum.requests < options.requests) {
    const clients = Math.max(
      1,
      Math.min(options.connections, Math.ceil((options.requests - sum.requests) / per)),
    );
    const r = await h2load({ ...options, connections: clients, requests: clients * per });
    for (const key of ['requests', 'succeeded', 'failed', 'errored', 'status2xx', 'statusOther'] as const)
      sum[key] += r[key];
    if (!(r.requests > 0)) break;
  }
  // The batches' own rate (h2load's start-up between batches counts): requests per wall second.
  sum.reqPerSec = (sum.requests * 1000) / (performance.now() - started);
  return sum;
}

interface Sample {
  target: string;
  round: number;
  cpuUsPerRequest: number;
  reqPerSec: number;
  load: Omit<LoadResult, 'raw'>;
}

const SERVER_CORE = 0;
const LOAD_CORE = 1;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function problems(load: LoadResult): string | undefined {
  if (load.failed > 0 || load.errored > 0 || load.statusOther > 0 || load.status2xx !== load.requests) {
    return `failed=${load.failed} errored=${load.errored} 2xx=${load.status2xx}/${load.requests} other=${load.statusOther}`;
  }
  return undefined;
}

/** Runs a scenario with the command line's --rounds, --requests, --connections, --only, --svg. */
export async function runScenario(scenario: Scenario, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '10' },
      requests: { type: 'string', default: '50000' },
      connections: { type: 'string', default: '64' },
      only: { type: 'string' },
      /** Also write the run as a bar chart (bench/lib/svg-chart.ts) to this file. */
      svg: { type: 'string' },
    },
  });
  const rounds = Number(values.rounds);
  const requests = Number(values.requests);
  const connections = Number(values.connections);
  const only = values.only?.split(',');
  const targets = scenario.targets.filter((t) => only === undefined || only.includes(t.name));

  console.log(`# ${scenario.name}: ${scenario.description}`);
  console.log(
    `# ${rounds} rounds x ${requests} requests, ${connections} connections; server on core ${SERVER_CORE}, h2load on core ${LOAD_CORE}; node ${process.version}`,
  );

  const servers: ServerProcess[] = [];
  const failedToStart: string[] = [];
  for (const t of targets) {
    // A port the system says is free: fixed ports (4100, 4101, …) collided with other people's
    // benchmarks on a shared machine, and h2load then measured their server instead of ours.
    const port = await freePort();
    try {
      servers.push(
        await startServer({
          name: t.name,
          command: t.command,
          args: t.args,
          port,
          core: SERVER_CORE,
          path: scenario.path,
          ...(scenario.scheme === undefined ? {} : { scheme: scenario.scheme }),
          ...(t.env === undefined ? {} : { env: t.env }),
        }),
      );
    } catch (err) {
      failedToStart.push(t.name);
      console.error(`!! ${t.name} did not start: ${(err as Error).message}`);
    }
  }

  // h2load spreads requests over the URIs of a file (-i), one file per server (its port).
  const uriFiles = new Map<string, string>();
  if (scenario.paths !== undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'strata-bench-'));
    for (const s of servers) {
      const origin = new URL(s.url).origin;
      const file = join(dir, `${s.name.replace(/\W/g, '_')}.txt`);
      writeFileSync(file, `${scenario.paths.map((p) => origin + p).join('\n')}\n`);
      uriFiles.set(s.name, file);
    }
  }
  // A POST body: one file, sent with every request (h2load -d).
  let dataFile: string | undefined;
  if (scenario.body !== undefined) {
    dataFile = join(mkdtempSync(join(tmpdir(), 'strata-bench-')), 'body');
    writeFileSync(dataFile, scenario.body);
  }
  const withBody = {
    ...(dataFile === undefined ? {} : { dataFile }),
    ...(scenario.http2 === undefined ? {} : { http2: scenario.http2 }),
  };
  // HTTP/2 scenarios are served over TLS: the same port, https.
  const urlOf = (s: ServerProcess): string =>
    scenario.http2 === undefined ? s.url : s.url.replace(/^http:/, 'https:');
  const samples: Sample[] = [];
  try {
    for (const s of servers) {
      const warm = await loadRun(scenario, {
        url: urlOf(s),
        ...(uriFiles.has(s.name) ? { uriFile: uriFiles.get(s.name)! } : {}),
        requests: Math.min(requests, 20000),
        connections,
        core: LOAD_CORE,
        ...(scenario.headers === undefined ? {} : { headers: scenario.headers }),
        ...withBody,
      });
      const bad = problems(warm);
      if (bad !== undefined) console.error(`!! ${s.name} warm-up had errors: ${bad}`);
    }
    for (let round = 0; round < rounds; round++) {
      // Rotate the order each round so that no target always runs first or last.
      const order = servers.map((_, i) => servers[(i + round) % servers.length]!);
      for (const s of order) {
        const before = treeCpuUs(s.pid);
        const load = await loadRun(scenario, {
          url: urlOf(s),
          ...(uriFiles.has(s.name) ? { uriFile: uriFiles.get(s.name)! } : {}),
          requests,
          connections,
          core: LOAD_CORE,
          ...(scenario.headers === undefined ? {} : { headers: scenario.headers }),
          ...withBody,
        });
        const after = treeCpuUs(s.pid);
        const bad = problems(load);
        if (bad !== undefined) console.error(`!! ${s.name} round ${round + 1}: ${bad}`);
        const { raw: _raw, ...summary } = load;
        samples.push({
          target: s.name,
          round,
          cpuUsPerRequest: (after - before) / load.requests,
          reqPerSec: load.reqPerSec,
          load: summary,
        });
      }
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }

  // Shared machines drift: a slow minute slows every target measured in it. Ratios are therefore
  // taken within each round (the targets of one round ran back to back) and their median
  // reported, beside the median of the absolute figures.
  const inRound = (name: string, round: number): Sample | undefined =>
    samples.find((x) => x.target === name && x.round === round);
  const pairedRatio = (name: string, vs: string): number =>
    median(
      Array.from({ length: rounds }, (_, round) => {
        const a = inRound(name, round);
        const b = inRound(vs, round);
        return a && b ? a.cpuUsPerRequest / b.cpuUsPerRequest : Number.NaN;
      }).filter((x) => !Number.isNaN(x)),
    );
  const rows = servers.map((s) => {
    const mine = samples.filter((x) => x.target === s.name);
    return {
      name: s.name,
      cpu: median(mine.map((x) => x.cpuUsPerRequest)),
      rps: median(mine.map((x) => x.reqPerSec)),
      vsBaseline: pairedRatio(s.name, scenario.baseline),
      subjectVs: pairedRatio(scenario.subject, s.name),
      errors: mine.filter((x) => problems({ ...x.load, raw: '' }) !== undefined).length,
    };
  });
  const header = [
    'target',
    'CPU µs/req',
    `CPU × ${scenario.baseline}`,
    'req/s',
    `${scenario.subject} CPU ÷ target`,
    'rounds w/ errors',
  ];
  const table = rows.map((r) => [
    r.name,
    r.cpu.toFixed(2),
    r.vsBaseline.toFixed(3),
    Math.round(r.rps).toString(),
    r.subjectVs.toFixed(3),
    String(r.errors),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log();
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of table) console.log(line(row));
  for (const name of failedToStart) console.log(`| ${name} | did not start |`);

  let floorsMet = true;
  for (const floor of scenario.floors ?? []) {
    const of = floor.of ?? scenario.subject;
    if (!rows.some((r) => r.name === of) || !rows.some((r) => r.name === floor.vs)) continue;
    const ratio = pairedRatio(of, floor.vs);
    const ok = ratio <= floor.max;
    floorsMet &&= ok;
    console.log(
      `floor: ${of} CPU/req ≤ ${floor.max}× ${floor.vs} (median of per-round ratios): ${ratio.toFixed(3)} ${ok ? 'MET' : 'NOT MET'}`,
    );
  }

  const dir = join(import.meta.dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${scenario.name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const results = {
    scenario: scenario.name,
    rounds,
    requests,
    connections,
    baseline: scenario.baseline,
    subject: scenario.subject,
    date: new Date().toISOString(),
    rows,
    samples,
  };
  writeFileSync(file, JSON.stringify(results, null, 2));
  console.log(`raw results: ${file}`);
  if (values.svg !== undefined) {
    writeFileSync(values.svg, benchChart(results));
    console.log(`chart: ${values.svg}`);
  }
  if (!floorsMet) process.exitCode = 1;
}
