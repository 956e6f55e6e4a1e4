/**
 * request-id: ns per made request id — strata's prefix + counter against crypto.randomUUID().
 * CPU only (run pinned: `taskset -c 1 npm run bench -- request-id`).
 */
import { randomUUID } from 'node:crypto';
import { RequestIdGenerator } from '../src/server/request-id.ts';

const N = 2_000_000;
const ROUNDS = 7;
let sink = 0;

function time(label: string, make: () => string): number {
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) sink += make().length;
    samples.push(Number(process.hrtime.bigint() - start) / N);
  }
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(ROUNDS / 2)]!;
  console.log(`${label.padEnd(28)} ${median.toFixed(1)} ns per id (median of ${ROUNDS} × ${N})`);
  return median;
}

const gen = new RequestIdGenerator();
const counter = time('prefix + counter (strata)', () => gen.next());
const uuid = time('crypto.randomUUID()', () => randomUUID());
console.log(`ratio: ${(uuid / counter).toFixed(2)}× (sink ${sink % 10})`);
