/**
 * access-log: CPU per request of the access log itself, in process, without sockets: the same
 * request/response cycle (construct, writeHead, end, close) on node's ServerResponse and on the
 * access log's subclass, which adds the request id, byte counting, the line and its buffering.
 * The difference is the log's cost per request; compare it with bench `hello` (strata ≈ 12–18 µs
 * per request). Run pinned: `taskset -c 1 npm run bench -- access-log`.
 */
import { rmSync } from 'node:fs';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AccessLog, resolveAccessLog } from '../src/server/access-log.ts';
import { AddressList } from '../src/server/client-address.ts';
import { ExchangeLog } from '../src/server/exchange-log.ts';

const N = 200_000;
const ROUNDS = 7;
const socket = new Socket();
const body = '{"hello":"world"}';

function request(): IncomingMessage {
  const req = new IncomingMessage(socket);
  req.method = 'GET';
  req.url = '/users/42?expand=1';
  req.httpVersion = '1.1';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.rawHeaders.push('Host', 'example.com', 'User-Agent', 'h2load nghttp2/1.52.0', 'Accept', '*/*');
  // node's server builds req.headers before the response exists (it checks Host): so here too.
  void req.headers;
  return req;
}

function cycle(Response: typeof ServerResponse): void {
  const res = new Response(request());
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
  res.emit('close');
}

// CPU time (user + system, every thread of the process: the threadpool's file writes count),
// not wall time, which on a shared machine mostly measures the neighbours. The loop yields every
// 64 requests, as a server under load does, so that writes complete as they would.
async function sample(Response: typeof ServerResponse): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < N; i += 64) {
    for (let j = 0; j < 64; j++) cycle(Response);
    await new Promise(setImmediate);
  }
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / N;
}

const files: string[] = [];
function log(format: 'combined' | 'json', extra: object = {}): AccessLog {
  const destination = join(tmpdir(), `strata-bench-access-log-${process.pid}-${files.length}.log`);
  files.push(destination);
  const config = resolveAccessLog({ format, destination, ...extra })!;
  return new AccessLog(config, {
    trusted: new AddressList([]),
    remoteOf: undefined,
    log: pino({ level: 'silent' }),
  });
}

const logs = {
  combined: log('combined'),
  json: log('json'),
  'combined, bufferSize 0': log('combined', { bufferSize: 0 }),
  'combined, no request id': log('combined', { requestId: false }),
};
// Interleaved rounds, in an order rotated each round; the median of each variant's samples.
const variants: [string, typeof ServerResponse][] = [
  ['node ServerResponse (log off)', ServerResponse],
  ...Object.entries(logs).map(([name, l]): [string, typeof ServerResponse] => [
    `access log: ${name}`,
    new ExchangeLog(l, undefined).responses.Recorded,
  ]),
];
const samples = new Map<string, number[]>(variants.map(([name]) => [name, []]));
for (const [, Response] of variants) await sample(Response); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < variants.length; k++) {
    const [name, Response] = variants[(k + r) % variants.length]!;
    samples.get(name)!.push(await sample(Response));
  }
}
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const base = median(samples.get(variants[0]![0])!);
for (const [name, values] of samples) {
  const ns = median(values);
  const extra = name === variants[0]![0] ? '' : `  (+${(ns - base).toFixed(0)} ns for the log)`;
  console.log(`${name.padEnd(34)} ${ns.toFixed(0).padStart(6)} ns CPU per request${extra}`);
}
console.log(`(median of ${ROUNDS} interleaved rounds × ${N} requests, process CPU time)`);
for (const l of Object.values(logs)) await l.close();
for (const f of files) rmSync(f, { force: true });
