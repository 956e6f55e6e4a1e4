import type { RateLimitDecision, RateLimitPolicy } from './gcra.ts';

/**
 * The header fields of draft-ietf-httpapi-ratelimit-headers (checked against -11, May 2026; the
 * syntax is unchanged since -08): `RateLimit-Policy: "name";q=<quota>;w=<window s>` and
 * `RateLimit: "name";r=<remaining>;t=<s until the quota is restored>`, both Structured Field
 * lists (RFC 9651) whose item is the policy's name as an sf-string.
 */

/** `"default";q=100;w=60`: computed once per limiter. */
export function policyField(name: string, policy: RateLimitPolicy): string {
  return `${sfString(name)};q=${policy.limit};w=${Math.max(1, Math.round(policy.window / 1000))}`;
}

/** `"default";r=42;t=17`: the state after one check. */
export function rateLimitField(quotedName: string, decision: RateLimitDecision): string {
  return `${quotedName};r=${decision.remaining};t=${Math.ceil(decision.resetAfter / 1000)}`;
}

/** RFC 9110 §10.2.3 `Retry-After` delay-seconds for a refusal (at least 1). */
export function retryAfterSeconds(decision: RateLimitDecision): number {
  const ms = Number.isFinite(decision.retryAfter) ? decision.retryAfter : decision.resetAfter;
  return Math.max(1, Math.ceil(ms / 1000));
}

/** A policy name as an sf-string (RFC 9651 §3.3.3): printable ASCII, `"` and `\` escaped. */
export function sfString(name: string): string {
  if (!/^[\x20-\x7e]*$/.test(name))
    throw new RangeError(`rate limit: name must be printable ASCII, got ${JSON.stringify(name)}`);
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
