/**
 * compression-levels: CPU per one-shot compression of the ~10 KB JSON of bench/compression.ts,
 * for each coding at the levels worth considering for dynamic responses, and the bytes each
 * produces (CPU only, no HTTP; run pinned: `taskset -c 1 npm run bench -- compression-levels`).
 * Interleaved rounds, median per case. The figures behind COMPRESSION_DEFAULTS.levels.
 */
import { brotliCompressSync, constants, deflateSync, gzipSync, zstdCompressSync } from 'node:zlib';
import { JSON_10K } from './fixtures/json-10k.ts';

const body = JSON.stringify(JSON_10K);
const length = Buffer.byteLength(body);
const zstd = (level: number) => () =>
  zstdCompressSync(body, { pledgedSrcSize: length, params: { [constants.ZSTD_c_compressionLevel]: level } });
const br = (quality: number) => () =>
  brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: quality } });
const cases: [string, () => Buffer][] = [
  ['zstd 1', zstd(1)],
  ['zstd 3 (default)', zstd(3)],
  ['zstd 6', zstd(6)],
  ['br 1', br(1)],
  ['br 4 (default)', br(4)],
  ['br 5', br(5)],
  ['br 6', br(6)],
  ['br 11', br(11)],
  ['gzip 1', () => gzipSync(body, { level: 1 })],
  ['gzip 6 (default)', () => gzipSync(body, { level: 6 })],
  ['gzip 9', () => gzipSync(body, { level: 9 })],
  ['deflate 6 (default)', () => deflateSync(body, { level: 6 })],
];

const rounds = 7;
const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]));
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of cases) {
    const n = name.startsWith('br 11') ? 20 : 1000;
    for (let i = 0; i < 20; i++) run();
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) run();
    const used = process.cpuUsage(start);
    samples.get(name)!.push((used.user + used.system) / n);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(
  `# compression-levels: one-shot compression of ${length} bytes of JSON, ${rounds} rounds, median`,
);
console.log('| coding and level | CPU µs | bytes | ratio |');
console.log('|---|---|---|---|');
for (const [name, run] of cases) {
  const size = run().length;
  console.log(
    `| ${name} | ${median(samples.get(name)!).toFixed(1)} | ${size} | ${(length / size).toFixed(1)}× |`,
  );
}
