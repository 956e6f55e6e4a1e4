import type { ServerResponse } from 'node:http';

/** RFC 8555 §8.3: where the CA looks for an HTTP-01 key authorization. */
export const ACME_CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

// RFC 8555 §8.1: a token is base64url without padding, at least 128 bits of entropy (22 chars);
// Let's Encrypt and pebble send 43. Anything else is not a token, whatever it decodes to.
const TOKEN = /^[A-Za-z0-9_-]{22,128}$/;

/**
 * What the HTTP listener asks before anything else (the edge policy, static files, the app):
 * the key authorization to answer for a request target, or undefined.
 */
export interface Http01Answers {
  /** The body to answer `GET <target>` with, when it is a pending challenge's path. */
  http01(target: string): string | undefined;
}

/** Whether a request target is on the challenge path (answered by strata, never by the app). */
export function isChallengeTarget(target: string): boolean {
  return target.startsWith(ACME_CHALLENGE_PREFIX);
}

/**
 * The pending HTTP-01 challenges of this process: token → key authorization. The manager sets
 * one before it tells the CA to validate and deletes it after; under `--workers` the workers hold
 * copies sent by the primary (workers.ts).
 */
export class ChallengeTokens implements Http01Answers {
  readonly #tokens = new Map<string, string>();

  /** Adds a challenge; a token that is not base64url is refused (it would never be asked for). */
  set(token: string, keyAuthorization: string): void {
    if (!TOKEN.test(token)) throw new TypeError(`acme: "${token}" is not an ACME token (base64url)`);
    this.#tokens.set(token, keyAuthorization);
  }

  delete(token: string): void {
    this.#tokens.delete(token);
  }

  /** How many are pending (for tests and logs). */
  get size(): number {
    return this.#tokens.size;
  }

  http01(target: string): string | undefined {
    if (!target.startsWith(ACME_CHALLENGE_PREFIX)) return undefined;
    // The exact target: no query, no encoded bytes, no second segment — a token or nothing.
    const token = target.slice(ACME_CHALLENGE_PREFIX.length);
    if (!TOKEN.test(token)) return undefined;
    return this.#tokens.get(token);
  }
}

/**
 * Answers a request on the challenge path: 200 with the key authorization for a pending token
 * (GET or HEAD), 404 for anything else on that path (the app never sees it). Returns false, and
 * writes nothing, for a request off the path.
 */
export function answerHttp01(
  answers: Http01Answers,
  req: { readonly url?: string | undefined; readonly method?: string | undefined },
  res: ServerResponse,
): boolean {
  const target = req.url ?? '';
  if (!isChallengeTarget(target)) return false;
  const body = req.method === 'GET' || req.method === 'HEAD' ? answers.http01(target) : undefined;
  const status = body === undefined ? 404 : 200;
  const text = body ?? 'Not Found\n';
  try {
    res.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : text);
  } catch {
    res.destroy();
  }
  return true;
}
