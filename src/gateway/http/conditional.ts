/**
 * RFC 9110 §13.2.2 preconditions, evaluated in the order the RFC gives, for a GET or HEAD of a
 * static representation with a strong validator (`etag`) and a modification date.
 */
import { listElements, trimOws } from '../http.ts';

export type Precondition = 'ok' | 'not-modified' | 'failed';

function etagList(header: string): string[] {
  return listElements(header);
}

function weakMatch(a: string, b: string): boolean {
  const strip = (t: string): string => (t.startsWith('W/') ? t.slice(2) : t);
  return strip(a) === strip(b);
}

/** HTTP-date to ms, or NaN (§5.6.7: a date that cannot be parsed is ignored). */
/**
 * Whether an `If-None-Match` value matches `etag`: `*`, or a listed tag equal under the weak
 * comparison (RFC 9110 §13.1.2, §8.8.3.2).
 */
export function noneMatchHits(header: string, etag: string): boolean {
  const tags = etagList(header);
  return tags.includes('*') || tags.some((t) => weakMatch(t, etag));
}

function parseDate(value: string): number {
  return Date.parse(value);
}

export function evaluatePreconditions(
  headers: {
    ifMatch?: string | undefined;
    ifNoneMatch?: string | undefined;
    ifModifiedSince?: string | undefined;
    ifUnmodifiedSince?: string | undefined;
  },
  etag: string,
  lastModifiedMs: number,
  method: string,
): Precondition {
  // Compare at second precision: Last-Modified carries no milliseconds.
  const modified = Math.floor(lastModifiedMs / 1000) * 1000;
  // Step 1: If-Match (strong comparison).
  if (headers.ifMatch !== undefined) {
    const tags = etagList(headers.ifMatch);
    if (!tags.includes('*') && !tags.some((t) => !t.startsWith('W/') && t === etag)) return 'failed';
  } else if (headers.ifUnmodifiedSince !== undefined) {
    // Step 2: If-Unmodified-Since, only without If-Match.
    const since = parseDate(headers.ifUnmodifiedSince);
    if (!Number.isNaN(since) && modified > since) return 'failed';
  }
  // Step 3: If-None-Match (weak comparison).
  if (headers.ifNoneMatch !== undefined) {
    if (noneMatchHits(headers.ifNoneMatch, etag)) {
      return method === 'GET' || method === 'HEAD' ? 'not-modified' : 'failed';
    }
  } else if (headers.ifModifiedSince !== undefined && (method === 'GET' || method === 'HEAD')) {
    // Step 4: If-Modified-Since, only without If-None-Match; a future date is invalid (§13.1.3).
    const since = parseDate(headers.ifModifiedSince);
    if (!Number.isNaN(since) && since <= Date.now() && modified <= since) return 'not-modified';
  }
  return 'ok';
}

/** §13.1.5 If-Range: honour Range only if the validator still matches (strong etag or exact date). */
export function ifRangeMatches(ifRange: string | undefined, etag: string, lastModifiedMs: number): boolean {
  if (ifRange === undefined) return true;
  const value = trimOws(ifRange);
  if (value.startsWith('"') || value.startsWith('W/')) return value === etag;
  const date = parseDate(value);
  return !Number.isNaN(date) && date === Math.floor(lastModifiedMs / 1000) * 1000;
}
