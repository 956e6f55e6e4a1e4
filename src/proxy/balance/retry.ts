/**
 * When a failed attempt may be made again on another upstream: only for methods that RFC 9110
 * §9.2.2 calls idempotent, only after outcomes where the upstream cannot have acted on a
 * completed exchange the client saw, and only a bounded number of times within a bounded time.
 */
import type { Outcome } from './types.ts';

/** RFC 9110 §9.2.2: the methods whose repetition has the same effect as one request. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'PUT',
  'DELETE',
  'TRACE',
]);

/**
 * The outcomes that are retried by default: a refused or failed connection (nothing was sent), a
 * connection reset before a response head, and a timeout waiting for the response head (a hung
 * upstream) — nginx's `proxy_next_upstream error timeout`. A 5xx answer is a response, passed on.
 */
export const RETRY_ON_DEFAULT: readonly Outcome[] = ['connect-error', 'reset', 'timeout'];

/** The retry policy of a group. */
export interface RetryPolicy {
  /** Further attempts after the first (0: never retry). */
  readonly attempts: number;
  /** No retry starts later than this many milliseconds after the first attempt began. */
  readonly withinMs: number;
  /** The outcomes that may be retried (default `RETRY_ON_DEFAULT`). */
  readonly on?: readonly Outcome[];
}

/**
 * Whether the request may be attempted again after attempt number `attempt` (1 for the first)
 * ended with `outcome`. The proxy asks only while nothing of the response has reached the client,
 * and only when it can replay the request body (none, or one it kept).
 *
 * @example
 * canRetry({ attempts: 2, withinMs: 10_000 }, 'GET', 'connect-error', 1, startedAt, Date.now()); // true
 * canRetry({ attempts: 2, withinMs: 10_000 }, 'POST', 'connect-error', 1, startedAt, Date.now()); // false
 */
export function canRetry(
  policy: RetryPolicy,
  method: string,
  outcome: Outcome,
  attempt: number,
  startedAt: number,
  now: number,
): boolean {
  if (attempt > policy.attempts) return false;
  if (now - startedAt > policy.withinMs) return false;
  if (!IDEMPOTENT_METHODS.has(method)) return false;
  return (policy.on ?? RETRY_ON_DEFAULT).includes(outcome);
}
