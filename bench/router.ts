/**
 * router: ns per lookup over every route of test/fixtures/routes/github-api-routes.txt (203 GitHub API
 * routes, params filled in with realistic values), strata's Router (src/app/router) beside
 * find-my-way, koa-tree-router, memoirist, rou3 and Hono's RegExpRouter and TrieRouter, all in
 * the same run.
 *
 * Each measurement runs in a fresh child process holding one router, as a server does: no
 * router's code shares call sites, inline caches or heap with another's. Round after round,
 * every router is measured once, in an order rotated each round so none always runs first.
 * Two figures per router, each the median over the rounds:
 *  - "per route": each route looked up in a tight loop (best of a few short batches, which
 *    filters out the moments another process had the core), then the median over the 203
 *    routes. The floor is stated on this figure: strata at most 100 ns;
 *  - "all routes": the 203 routes looked up in turn, as mixed traffic does (branch predictors
 *    and caches see every route); median over passes of the mean ns per lookup.
 *
 * CPU only, about 20 s. Run pinned (the children inherit the pinning):
 * `taskset -c 1 node bench/router.ts` or `taskset -c 1 npm run bench -- router`.
 * `ROUNDS=n` sets the number of rounds (default 5).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import FindMyWay from 'find-my-way';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { TrieRouter } from 'hono/router/trie-router';
import KoaTreeRouter from 'koa-tree-router';
import { Memoirist } from 'memoirist';
import { addRoute, createRouter, findRoute } from 'rou3';
import { Router } from '../src/app/router/index.ts';

const FLOOR_NS = 100;
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const BATCH = 500;
const BATCHES = 4;
const PASSES = 200;
const WARMUP_PASSES = 100;

const file = join(import.meta.dirname, '..', 'test', 'fixtures', 'routes', 'github-api-routes.txt');
const routes = readFileSync(file, 'utf8')
  .trim()
  .split('\n')
  .map((line) => line.split(' ') as [string, string]);

/** Values a real client would send; one needs percent-decoding, as real traffic sometimes does. */
const VALUES: Record<string, string> = {
  owner: 'nodejs',
  repo: 'node',
  id: '40123456',
  user: 'octocat',
  number: '52817',
  org: 'github',
  sha: '6dcb09b5b57875f334f61aebed695e2e4193db5e',
  name: 'bug',
  keyword: 'router',
  client_id: 'Iv1.8a61f9b3a7aba766',
  ref: 'main',
  access_token: 'gho_16C7e42F292c6912E7710c838347Ae178B4a',
  target_user: 'hubot',
  state: 'open',
  repository: 'linguist',
  email: 'octocat%40github.com',
  branch: 'release-v24',
  assignee: 'monalisa',
};

/**
 * Node's HTTP parser hands method names over from a table of interned strings (so do the
 * fetch implementations), so the requests here use interned names too, not the fresh strings
 * `split` makes: a router comparing method names sees what it sees behind a server.
 */
function interned(name: string): string {
  return Object.keys({ [name]: true })[0]!;
}

const requests = routes.map(([method, path]) => {
  const url = path.replace(/:(\w+)/g, (_, name: string) => {
    const value = VALUES[name];
    if (value === undefined) throw new Error(`bench/router.ts: no sample value for :${name}`);
    return value;
  });
  return { method: interned(method), url, route: path };
});

type Find = (method: string, path: string) => unknown;

/** Builds one router with every route, and its lookup. */
const FACTORIES: Record<string, () => Find> = {
  strata: () => {
    const router = new Router<string>();
    for (const [method, path] of routes) router.add(method, path, path);
    return (m, p) => router.find(m, p);
  },
  memoirist: () => {
    const memoirist = new Memoirist<string>();
    for (const [method, path] of routes) memoirist.add(method, path, path);
    return (m, p) => memoirist.find(m, p);
  },
  'koa-tree-router': () => {
    const koa = new KoaTreeRouter();
    for (const [method, path] of routes) koa.on(method, path, () => {});
    return (koa as unknown as { find: Find }).find.bind(koa);
  },
  'find-my-way': () => {
    const fmw = FindMyWay();
    for (const [method, path] of routes) fmw.on(method as 'GET', path, () => {});
    return (m, p) => fmw.find(m as 'GET', p);
  },
  rou3: () => {
    const rou3 = createRouter<string>();
    for (const [method, path] of routes) addRoute(rou3, method, path, path);
    return (m, p) => findRoute(rou3, m, p);
  },
  'hono RegExpRouter': () => {
    const regexp = new RegExpRouter<string>();
    for (const [method, path] of routes) regexp.add(method, path, path);
    return (m, p) => regexp.match(m, p);
  },
  'hono TrieRouter': () => {
    const trie = new TrieRouter<string>();
    for (const [method, path] of routes) trie.add(method, path, path);
    return (m, p) => trie.match(m, p);
  },
};

/** Every route must be found (and strata's the right one), or the timing means nothing. */
function check(name: string, find: Find): void {
  for (const { method, url, route } of requests) {
    const found = find(method, url) as { value?: unknown; handle?: unknown } | unknown[] | null | undefined;
    const empty =
      found == null ||
      (Array.isArray(found) && (found[0] as unknown[]).length === 0) ||
      (name === 'koa-tree-router' && (found as { handle?: unknown }).handle == null);
    if (empty) throw new Error(`${name} does not find ${method} ${url}`);
    if (name === 'strata' && (found as { value?: unknown }).value !== route)
      throw new Error(`strata finds ${JSON.stringify(found)} for ${method} ${url}, not ${route}`);
  }
}

let sink = 0;

/** Median over the routes of ns per lookup, each route in a tight loop. */
function perRoute(find: Find): number {
  const times: number[] = [];
  for (const { method, url } of requests) {
    for (let i = 0; i < BATCH; i++) if (find(method, url) != null) sink++;
    let best = Number.POSITIVE_INFINITY;
    for (let b = 0; b < BATCHES; b++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < BATCH; i++) if (find(method, url) != null) sink++;
      best = Math.min(best, Number(process.hrtime.bigint() - start) / BATCH);
    }
    times.push(best);
  }
  return median(times);
}

/** Mean ns per lookup over all the routes in turn (median over passes). */
function allRoutes(find: Find): number {
  const n = requests.length;
  const passes: number[] = [];
  for (let k = 0; k < PASSES; k++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (find(requests[i]!.method, requests[i]!.url) != null) sink++;
    passes.push(Number(process.hrtime.bigint() - start) / n);
  }
  return median(passes.slice(PASSES >> 2));
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const measuring = process.argv.indexOf('--measure');
if (measuring !== -1) {
  // Child: one router, one measurement, one line of JSON.
  const name = process.argv[measuring + 1]!;
  const factory = FACTORIES[name];
  if (factory === undefined) throw new Error(`bench/router.ts: no router named ${name}`);
  const find = factory();
  check(name, find);
  // Warm up on every route, so that no route is timed before the JIT has settled.
  for (let k = 0; k < WARMUP_PASSES; k++)
    for (const { method, url } of requests) if (find(method, url) != null) sink++;
  const result = { perRoute: perRoute(find), allRoutes: allRoutes(find) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (sink === -1) console.log(sink);
} else report();

function report(): void {
  const names = Object.keys(FACTORIES);
  const samples: Record<string, { perRoute: number[]; allRoutes: number[] }> = {};
  for (const name of names) samples[name] = { perRoute: [], allRoutes: [] };
  const started = Date.now();
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!;
      const out = execFileSync(process.execPath, [import.meta.filename, '--measure', name], {
        encoding: 'utf8',
      });
      const result = JSON.parse(out.trim().split('\n').at(-1)!) as { perRoute: number; allRoutes: number };
      samples[name]!.perRoute.push(result.perRoute);
      samples[name]!.allRoutes.push(result.allRoutes);
    }
  }

  const strataPerRoute = median(samples.strata!.perRoute);
  const strataAll = median(samples.strata!.allRoutes);
  const rows = names
    .map((name) => ({
      name,
      perRoute: median(samples[name]!.perRoute),
      all: median(samples[name]!.allRoutes),
    }))
    .sort((a, b) => a.perRoute - b.perRoute)
    .map((r) => [
      r.name,
      r.perRoute.toFixed(1),
      `${(r.perRoute / strataPerRoute).toFixed(2)}×`,
      r.all.toFixed(1),
      `${(r.all / strataAll).toFixed(2)}×`,
    ]);
  const header = ['router', 'per route, ns (median)', 'vs strata', 'all routes in turn, ns', 'vs strata'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(
    `# router: ${requests.length} GitHub API routes, ${ROUNDS} interleaved round${ROUNDS === 1 ? '' : 's'}, node ${process.version}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
  const met = strataPerRoute <= FLOOR_NS;
  console.log(
    `floor: strata ≤ ${FLOOR_NS} ns per lookup (median per route): ${strataPerRoute.toFixed(1)} ns ${met ? 'MET' : 'NOT MET'}` +
      ` (all routes in turn: ${strataAll.toFixed(1)} ns)`,
  );
  if (!met) process.exitCode = 1;
}
