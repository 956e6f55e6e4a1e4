/**
 * rate-limit: ns per check of the memory store (the edge's and the middleware's default), CPU
 * only, in process: the pure gcra(), one hot key, 10,000 keys in turn (IPv4 addresses), and a
 * key flood past maxKeys (every check a new key, evicting). Run pinned:
 * `taskset -c 1 npm run bench -- rate-limit`. Goal: under 1 µs per check.
 */

import { addressKey } from '../src/gateway/rate-limit/address-key.ts';
import { gcra, MemoryRateLimitStore, ratePolicy } from '../src/index.ts';

const N = 1_000_000;
const ROUNDS = 7;
let sink = 0;

function time(label: string, check: (i: number, now: number) => number): number {
  const samples: number[] = [];
  let now = 1_750_000_000_000;
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) {
      now += 0.01;
      sink += check(i, now);
    }
    samples.push(Number(process.hrtime.bigint() - start) / N);
  }
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(ROUNDS / 2)]!;
  console.log(`${label.padEnd(44)} ${median.toFixed(1)} ns per check (median of ${ROUNDS} × ${N})`);
  return median;
}

const policy = ratePolicy(1_000_000_000, 1000);
const addresses = Array.from(
  { length: 10_000 },
  (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
);
const v6 = Array.from({ length: 10_000 }, (_, i) => `2001:db8:${i.toString(16)}:1::${(i * 31).toString(16)}`);

time('gcra() alone', (_i, now) => gcra(now, now, policy, 1).remaining);
const hot = new MemoryRateLimitStore();
time('memory store, one hot key', (_i, now) => hot.consume('127.0.0.1', policy, 1, now).remaining);
const many = new MemoryRateLimitStore();
time(
  'memory store, 10,000 IPv4 keys in turn',
  (i, now) => many.consume(addresses[i % 10_000]!, policy, 1, now).remaining,
);
const keyed = new MemoryRateLimitStore();
time(
  'addressKey + store, 10,000 IPv6 clients',
  (i, now) => keyed.consume(addressKey(v6[i % 10_000]!), policy, 1, now).remaining,
);
const flood = new MemoryRateLimitStore({ maxKeys: 10_000 });
time('flood: a new key every check (evicting)', (i, now) => flood.consume(`k${i}`, policy, 1, now).remaining);
console.log(`(sink ${sink % 10})`);
