/**
 * router: ns per lookup over every route of shared/data/github-api-routes.txt (203 GitHub API
 * routes, params filled in), strata's RouteTable beside find-my-way, koa-tree-router,
 * memoirist, rou3 and Hono's RegExpRouter and TrieRouter, interleaved in the same run.
 *
 * Two figures per router:
 *  - "per route": each route looked up 20,000 times in a row after a warm-up; the median over
 *    the 203 routes (how the floor is stated: at most 100 ns);
 *  - "mixed": the 203 routes looked up in turn, as real traffic does; mean ns per lookup.
 * Run pinned: `taskset -c 1 node bench/router.ts` (or `npm run bench -- router`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import FindMyWay from 'find-my-way';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { TrieRouter } from 'hono/router/trie-router';
import KoaTreeRouter from 'koa-tree-router';
import { Memoirist } from 'memoirist';
import { addRoute, createRouter, findRoute } from 'rou3';
import { RouteTable } from '../src/app/route-table.ts';

const file = join(import.meta.dirname, '..', '..', 'shared', 'data', 'github-api-routes.txt');
const routes = readFileSync(file, 'utf8')
  .trim()
  .split('\n')
  .map((line) => line.split(' ') as [string, string]);
const requests = routes.map(
  ([method, path], i) => [method, path.replace(/:(\w+)/g, (_, n) => `${n}${i}v`)] as const,
);

type Find = (method: string, path: string) => unknown;

function setup(): Record<string, Find> {
  const strata = new RouteTable<string>();
  const fmw = FindMyWay();
  const koa = new KoaTreeRouter();
  const memoirist = new Memoirist<string>();
  const rou3 = createRouter<string>();
  const regexp = new RegExpRouter<string>();
  const trie = new TrieRouter<string>();
  const noop = (): void => {};
  for (const [method, path] of routes) {
    strata.add(method, path, path);
    fmw.on(method as 'GET', path, noop);
    koa.on(method, path, noop);
    memoirist.add(method, path, path);
    addRoute(rou3, method, path, path);
    regexp.add(method, path, path);
    trie.add(method, path, path);
  }
  return {
    strata: (m, p) => strata.find(m, p),
    'find-my-way': (m, p) => fmw.find(m as 'GET', p),
    'koa-tree-router': (m, p) => (koa as unknown as { find: Find }).find(m, p),
    memoirist: (m, p) => memoirist.find(m, p),
    rou3: (m, p) => findRoute(rou3, m, p),
    'hono RegExpRouter': (m, p) => regexp.match(m, p),
    'hono TrieRouter': (m, p) => trie.match(m, p),
  };
}

const routers = setup();

// Every router must find every route, or its timing means nothing.
for (const [name, find] of Object.entries(routers)) {
  for (const [method, path] of requests) {
    const found = find(method, path) as { params?: unknown } | unknown[] | null | undefined;
    const empty = found == null || (Array.isArray(found) && (found[0] as unknown[]).length === 0);
    if (empty) throw new Error(`${name} does not find ${method} ${path}`);
  }
}

let sink = 0;
function perRoute(find: Find): number {
  const times: number[] = [];
  for (const [method, path] of requests) {
    for (let i = 0; i < 2000; i++) if (find(method, path)) sink++;
    const n = 20_000;
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (find(method, path)) sink++;
    times.push(Number(process.hrtime.bigint() - start) / n);
  }
  return median(times);
}

function mixed(find: Find): number {
  for (let k = 0; k < 50; k++) for (const [m, p] of requests) if (find(m, p)) sink++;
  const rounds = 200;
  const start = process.hrtime.bigint();
  for (let k = 0; k < rounds; k++) for (const [m, p] of requests) if (find(m, p)) sink++;
  return Number(process.hrtime.bigint() - start) / (rounds * requests.length);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const results: Record<string, { perRoute: number[]; mixed: number[] }> = {};
for (let round = 0; round < ROUNDS; round++) {
  const names = Object.keys(routers);
  // Rotate the order each round: no router always runs first (cold) or last.
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + round) % names.length]!;
    results[name] ??= { perRoute: [], mixed: [] };
    const entry = results[name];
    entry.perRoute.push(perRoute(routers[name]!));
    entry.mixed.push(mixed(routers[name]!));
  }
}

const strata = results.strata!;
const rows = Object.entries(results).map(([name, r]) => {
  const pr = median(r.perRoute);
  const mx = median(r.mixed);
  return [
    name,
    pr.toFixed(1),
    (pr / median(strata.perRoute)).toFixed(2),
    mx.toFixed(1),
    (mx / median(strata.mixed)).toFixed(2),
  ];
});
rows.sort((a, b) => Number(a[1]) - Number(b[1]));
const header = ['router', 'per route ns (median)', '× strata', 'mixed ns/lookup', '× strata'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(
  `# router: ${requests.length} GitHub API routes, ${ROUNDS} interleaved rounds, node ${process.version}`,
);
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of rows) console.log(line(row));
const floor = median(strata.perRoute);
console.log(
  `floor: strata ≤ 100 ns per lookup (median per route): ${floor.toFixed(1)} ns ${floor <= 100 ? 'MET' : 'NOT MET'}`,
);
if (sink === -1) console.log(sink);
