import { STATUS_CODES } from 'node:http';
import type { ResponseHead } from './headers.ts';

/**
 * Where an upstream's response goes: the client's socket (the fast lane), a node
 * `ServerResponse`, or a web `Response` (the framework's `proxy()` handler). The attempt calls
 * `start`, then `write` per chunk, then `end`; or `fail` when nothing was sent yet, or `cut`
 * when a response already under way cannot be finished.
 */
export interface ResponseSink {
  /**
   * The response head. `resume` restarts the upstream after a `false` from `write` (or from
   * `start`): the sink calls it once the client has drained.
   */
  start(status: number, statusText: string, head: ResponseHead, resume: () => void): boolean;
  /** One body chunk; false: the client is full, wait for `resume`. */
  write(chunk: Buffer): boolean;
  /** The body is complete. */
  end(): void;
  /** Nothing was sent: answer `status` with a problem document instead. */
  fail(status: number, detail: string): void;
  /** A response under way failed: the client's connection is closed (nothing else tells it). */
  cut(): void;
  /** Calls `abort` if the client leaves before the response is complete. */
  onAbort(abort: () => void): void;
}

/** An RFC 9457 problem document for a proxy failure (never naming the upstream to the client). */
export function problemBody(status: number, detail: string): string {
  return JSON.stringify({ type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail });
}

export const PROBLEM_TYPE = 'application/problem+json';
