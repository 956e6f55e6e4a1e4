/**
 * app-fetch: the framework's own cost, in-process, without sockets: `app.fetch` over the Node
 * gateway's lazy request for the api scenario's requests (203 GitHub routes, GETs over the param
 * routes), as CPU ns per request. Three apps, measured in turn in the same process, round after
 * round in a rotated order, median of per-round ratios to the first:
 *  - `none`: the routes and their JSON handlers only;
 *  - `built-ins`: behind requestId(), cors() and serverTiming(), as in the api scenario;
 *  - `hand-written`: behind the same three written as plain middleware (`return next()`, and an
 *    `async` one with `await next()`), which is what the built-ins' fast paths save.
 *
 * The load scenario (`api`) measures the whole server under a shared machine's noise; this one
 * isolates the app layer, so that a change to it shows. CPU only, about 20 s. Run pinned:
 * `taskset -c 1 npm run bench -- app-fetch`. `ROUNDS=n` sets the rounds (default 15).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, cors, requestId, serverTiming } from '../src/app/index.ts';
import { FastResponse, installFastResponse } from '../src/gateway/fast-response.ts';
import { NodeRequest } from '../src/gateway/node-request.ts';
import type { ServeInfo } from '../src/gateway/types.ts';
import { GITHUB_PARAM_PATHS, GITHUB_ROUTES } from './fixtures/github-routes.ts';

installFastResponse();

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const BATCHES = 1500;
const IN_FLIGHT = 64;

function withRoutes(app: App): App {
  for (const [method, path] of GITHUB_ROUTES)
    app.on(method, path, (c) => c.json({ route: path, params: c.params }));
  return app;
}

const apps: Record<string, App> = {
  none: withRoutes(new App()),
  'built-ins': withRoutes(new App().use(requestId()).use(cors()).use(serverTiming())),
  'hand-written': withRoutes(
    new App()
      .use((c, next) => {
        const id = crypto.randomUUID();
        c.set('requestId', id);
        c.header('x-request-id', id);
        return next();
      })
      .use((c, next) => {
        c.header('access-control-allow-origin', '*');
        return next();
      })
      .use(async (_c, next) => {
        const start = performance.now();
        const res = await next();
        res.headers.append('server-timing', `total;dur=${(performance.now() - start).toFixed(1)}`);
      }),
  ),
};

// What node's parser hands the gateway for an h2load request of the api scenario.
const requests = GITHUB_PARAM_PATHS.map((url) => ({
  method: 'GET',
  url,
  httpVersionMajor: 1,
  httpVersionMinor: 1,
  complete: true,
  headers: { host: '127.0.0.1:4000', origin: 'https://app.example.com' },
  rawHeaders: [
    'Host',
    '127.0.0.1:4000',
    'User-Agent',
    'h2load',
    'Accept',
    '*/*',
    'origin',
    'https://app.example.com',
  ],
  socket: { remoteAddress: '127.0.0.1', remotePort: 40000 },
})) as unknown as IncomingMessage[];
const config = { maxBodySize: 1 << 20, secure: false, defaultHost: '127.0.0.1:4000' };
const info: ServeInfo = {
  remote: { address: '127.0.0.1', port: 40000, family: 'IPv4' },
  protocol: 'http/1.1',
  secure: false,
  waitUntil() {},
};
const noRes = {} as ServerResponse;

let sink = 0;
function consume(res: Response): void {
  const parts = FastResponse.parts(res);
  if (parts === undefined || parts.status !== 200)
    throw new Error('bench/app-fetch.ts: not a 200 fast response');
  sink += parts.status;
}

/** `batches` times, IN_FLIGHT requests started, then awaited together (as a server's loop does). */
async function run(app: App, batches: number): Promise<void> {
  const pending: Promise<void>[] = [];
  for (let b = 0; b < batches; b++) {
    for (let k = 0; k < IN_FLIGHT; k++) {
      const raw = requests[(b * IN_FLIGHT + k) % requests.length]!;
      const out = app.fetch(new NodeRequest(raw, noRes, config) as unknown as Request, info);
      if (out instanceof Promise) pending.push(out.then(consume));
      else consume(out);
    }
    if (pending.length > 0) {
      await Promise.all(pending);
      pending.length = 0;
    }
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const names = Object.keys(apps);
for (const name of names) await run(apps[name]!, 2000);
const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + round) % names.length]!;
    const before = process.cpuUsage();
    await run(apps[name]!, BATCHES);
    const used = process.cpuUsage(before);
    samples[name]!.push(((used.user + used.system) * 1000) / (BATCHES * IN_FLIGHT));
  }
}

console.log(
  `# app-fetch: app.fetch in-process over the gateway's lazy request, ${ROUNDS} rounds, node ${process.version}`,
);
console.log('| app          | CPU ns/request (median) | × none (median of per-round ratios) |');
console.log('|--------------|-------------------------|-------------------------------------|');
for (const name of names) {
  const ratios = samples[name]!.map((x, r) => x / samples.none![r]!);
  console.log(
    `| ${name.padEnd(12)} | ${median(samples[name]!).toFixed(0).padEnd(23)} | ${median(ratios).toFixed(2).padEnd(35)} |`,
  );
}
if (sink === 0) console.log('(nothing answered)');
