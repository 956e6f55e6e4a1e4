/**
 * RFC 9110 §14 byte ranges. `parseRange('bytes=0-99,200-', size)` gives the satisfiable ranges
 * in request order, `'unsatisfiable'` (416), or `undefined` when the header is not a byte-range
 * request the server must honour (malformed, or another unit: serve the whole representation,
 * §14.2 "A server MAY ignore the Range header field").
 */
import { trimOws } from '../http.ts';

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

/** More ranges than this, or overlapping ones, are a denial-of-service shape (§14.2): serve it whole. */
const MAX_RANGES = 16;

export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange[] | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const eq = header.indexOf('=');
  if (eq === -1 || trimOws(header.slice(0, eq)).toLowerCase() !== 'bytes') return undefined;
  const specs = header.slice(eq + 1).split(',');
  if (specs.length > MAX_RANGES) return undefined;
  const ranges: ByteRange[] = [];
  for (const raw of specs) {
    const spec = trimOws(raw);
    const m = /^(\d*)-(\d*)$/.exec(spec);
    if (m === null || (m[1] === '' && m[2] === '')) return undefined;
    if (m[1] === '') {
      // Suffix range: the last N bytes (§14.1.2).
      const n = Number(m[2]);
      if (n === 0) continue;
      ranges.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(m[1]);
    let end = m[2] === '' ? Number.MAX_SAFE_INTEGER : Number(m[2]);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return undefined;
    if (end < start) return undefined; // invalid range-spec: ignore the header
    if (start >= size) continue; // unsatisfiable on its own
    end = Math.min(end, size - 1);
    ranges.push({ start, end });
  }
  if (ranges.length === 0) return 'unsatisfiable';
  // Overlapping ranges are legal but a classic amplification trick: serve the whole file.
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) if (sorted[i]!.start <= sorted[i - 1]!.end) return undefined;
  return ranges;
}
