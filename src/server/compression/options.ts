import { COMPRESSIBLE_TYPES } from '../../gateway/http/compressible.ts';

/** The content codings strata can produce. `deflate` is the zlib format (RFC 9110 §8.4.1.2). */
export type ContentCoding = 'zstd' | 'br' | 'gzip' | 'deflate';

const CODINGS: readonly ContentCoding[] = ['zstd', 'br', 'gzip', 'deflate'];

/** Level ranges each codec accepts (zstd's negative "fast" levels are left out). */
const LEVELS: Record<ContentCoding, [min: number, max: number]> = {
  zstd: [1, 19],
  br: [0, 11],
  gzip: [1, 9],
  deflate: [1, 9],
};

/**
 * Defaults of the `compression` option, in one place; docs/server.md shows the same table and a
 * test checks the two against each other.
 *
 * Levels are for responses compressed on every request, not for files compressed once. On the
 * 10 KB JSON of `bench/compression-levels.ts` (one-shot CPU, median of 7 rounds): zstd 3 35 µs
 * → 962 bytes; brotli 4 56 µs → 837 bytes, where brotli 5 costs 89 µs for 800 and brotli 11
 * 7,400 µs for 740; gzip 6 42 µs → 1,243 bytes (gzip 1: 29 µs → 1,425; gzip 9: 58 µs → 1,226).
 * zstd comes first in `encodings`: among codings a client accepts with the same q, the one with
 * the least CPU for a ratio close to brotli's wins.
 */
export const COMPRESSION_DEFAULTS = {
  /** Bodies shorter than this many bytes are sent as they are (a known length only). */
  threshold: 1024,
  /** Codings offered, in the server's order of preference for equal q-values. */
  encodings: CODINGS,
  /** Compression level per coding. */
  levels: { zstd: 3, br: 4, gzip: 6, deflate: 6 } as Readonly<Record<ContentCoding, number>>,
  /** Media types compressed (`type/subtype`, `type/*`, `type/*+suffix`). */
  types: COMPRESSIBLE_TYPES,
  /**
   * Known bodies up to this many bytes are compressed in one synchronous call; larger ones off
   * the event loop (a zlib stream on the thread pool). 128 KiB costs 0.3–3 ms of loop at the
   * default levels (zstd 3 fastest, brotli 4 slowest); a 5.6 MB body cost ~50–150 ms.
   */
  syncLimit: 131_072,
  /**
   * Bodies of a known length above this many bytes are sent as they are: compressing 8 MiB
   * takes ~70 ms of a thread-pool thread at gzip 6, which a client picks by asking for it.
   */
  maxSize: 8_388_608,
} as const;

/** `serve(app, { compression: … })`: `true` for the defaults, or any of these. */
export interface CompressionOptions {
  threshold?: number;
  encodings?: readonly ContentCoding[];
  levels?: Partial<Record<ContentCoding, number>>;
  types?: readonly string[];
  syncLimit?: number;
  maxSize?: number;
}

export interface ResolvedCompressionOptions {
  threshold: number;
  encodings: readonly ContentCoding[];
  levels: Readonly<Record<ContentCoding, number>>;
  types: readonly string[];
  syncLimit: number;
  maxSize: number;
}

function bad(message: string): never {
  throw new TypeError(`serve(): option compression.${message}`);
}

/** Merges `compression` options over the defaults, naming the bad one. */
export function resolveCompressionOptions(options: true | CompressionOptions): ResolvedCompressionOptions {
  const given: CompressionOptions = options === true ? {} : options;
  if (typeof given !== 'object' || given === null) bad(`must be true or an options object`);
  const threshold = given.threshold ?? COMPRESSION_DEFAULTS.threshold;
  if (!Number.isInteger(threshold) || threshold < 0)
    bad(`threshold must be a non-negative integer, got ${String(threshold)}`);
  const encodings = given.encodings ?? COMPRESSION_DEFAULTS.encodings;
  if (!Array.isArray(encodings) || encodings.length === 0)
    bad(`encodings must be a non-empty list of ${CODINGS.join(', ')}`);
  for (const coding of encodings) {
    if (!CODINGS.includes(coding))
      bad(`encodings: unknown coding ${JSON.stringify(coding)} (known: ${CODINGS.join(', ')})`);
  }
  if (new Set(encodings).size !== encodings.length) bad(`encodings lists a coding twice`);
  const levels = { ...COMPRESSION_DEFAULTS.levels };
  for (const [coding, level] of Object.entries(given.levels ?? {})) {
    const range = LEVELS[coding as ContentCoding];
    if (range === undefined) bad(`levels: unknown coding ${JSON.stringify(coding)}`);
    if (!Number.isInteger(level) || level < range[0] || level > range[1])
      bad(`levels.${coding} must be an integer from ${range[0]} to ${range[1]}, got ${String(level)}`);
    levels[coding as ContentCoding] = level;
  }
  const types = given.types ?? COMPRESSION_DEFAULTS.types;
  if (!Array.isArray(types)) bad(`types must be a list of media types`);
  const syncLimit = given.syncLimit ?? COMPRESSION_DEFAULTS.syncLimit;
  if (!Number.isInteger(syncLimit) || syncLimit < 0)
    bad(`syncLimit must be a non-negative integer, got ${String(syncLimit)}`);
  const maxSize = given.maxSize ?? COMPRESSION_DEFAULTS.maxSize;
  if (!Number.isInteger(maxSize) || maxSize < 0)
    bad(`maxSize must be a non-negative integer, got ${String(maxSize)}`);
  return { threshold, encodings: [...encodings], levels, types: [...types], syncLimit, maxSize };
}
