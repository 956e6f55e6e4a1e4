import { availableParallelism } from 'node:os';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Transferable } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { trackPool } from '../observe/metrics.ts';
import { PoolError } from './pool-error.ts';

/** Options of `new ThreadPool()`; every one has a default in `POOL_DEFAULTS`. */
export interface ThreadPoolOptions {
  /** Name in the metrics (`strata_pool_*{pool="…"}`). Default `default`. */
  name?: string;
  /**
   * Most threads. Default: the cores left to this process — `availableParallelism()` divided by
   * the number of worker processes on the machine (`STRATA_WORKERS`, set by the supervisor), at
   * least 1 — so that N workers × their threads do not oversubscribe the machine.
   */
  maxThreads?: number;
  /** Threads kept alive when idle. Default 0: threads start on first use. */
  minThreads?: number;
  /**
   * Tasks waiting for a thread; beyond it `run()` rejects with a 503 `PoolError`
   * (`STRATA_ERR_POOL_QUEUE_FULL`) instead of queueing without bound. Default `maxThreads × 16`.
   */
  maxQueue?: number;
  /** ms an idle thread above `minThreads` lives before it exits. Default 30,000. */
  idleTimeout?: number;
  /** Seconds sent in `Retry-After` when the queue is full. Default 1. */
  retryAfter?: number;
  /** Resource limits of each thread (heap sizes in MB), as `worker_threads` takes them. */
  resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number };
}

/** Options of one `run()`. */
export interface RunOptions {
  /** Aborting cancels the task: a queued one is dropped, a running one's thread is ended. Pass `c.req.signal`. */
  signal?: AbortSignal | undefined;
  /** Buffers moved to the thread instead of copied (`ArrayBuffer`, `MessagePort`, …). */
  transfer?: readonly Transferable[];
  /** The named export to call; default the module's default export. */
  name?: string;
}

/** A task: the module that exports the function (a path, a `file:` URL, or a `URL`). */
export type TaskModule = string | URL;

/** What `ThreadPool.stats` reports (and the metrics export). */
export interface PoolStats {
  threads: number;
  maxThreads: number;
  queued: number;
  maxQueue: number;
  completed: number;
  /** Share of the pool's capacity spent running tasks since it started, 0–1. */
  utilization: number;
}

/** Worker processes on this machine, as the supervisor announces it; 1 when alone. */
function workerProcesses(): number {
  const n = Number(process.env.STRATA_WORKERS);
  return Number.isInteger(n) && n > 0 ? n : 1;
}

export const POOL_DEFAULTS = {
  minThreads: 0,
  idleTimeout: 30_000,
  retryAfter: 1,
  queuePerThread: 16,
} as const;

function positiveInteger(name: string, value: number | undefined, min: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min))
    throw new TypeError(`ThreadPool: option ${name} must be an integer ≥ ${min}, got ${String(value)}`);
}

function moduleHref(task: TaskModule): string {
  if (task instanceof URL) return task.href;
  if (task.startsWith('file:')) return task;
  if (!isAbsolute(task))
    throw new TypeError(
      `ThreadPool: task module "${task}" must be an absolute path or a URL (use new URL('./task.ts', import.meta.url))`,
    );
  return pathToFileURL(task).href;
}

/**
 * A pool of worker threads for CPU-bound work, so that it never stalls the event loop. Built on
 * piscina: a task is a module whose default (or named) export takes the input and returns the
 * result (or a promise of it).
 *
 * @example
 * const pool = new ThreadPool();
 * app.post('/thumbnail', async (c) =>
 *   c.send(await pool.run(new URL('./resize.ts', import.meta.url), await c.req.arrayBuffer(),
 *     { signal: c.req.signal })));
 */
export class ThreadPool {
  #piscina: Piscina;
  #retryAfter: number;
  #closed = false;
  #untrack: () => void;

  constructor(options: ThreadPoolOptions = {}) {
    positiveInteger('maxThreads', options.maxThreads, 1);
    positiveInteger('minThreads', options.minThreads, 0);
    positiveInteger('maxQueue', options.maxQueue, 0);
    positiveInteger('idleTimeout', options.idleTimeout, 0);
    positiveInteger('retryAfter', options.retryAfter, 0);
    const maxThreads =
      options.maxThreads ?? Math.max(1, Math.floor(availableParallelism() / workerProcesses()));
    const minThreads = Math.min(options.minThreads ?? POOL_DEFAULTS.minThreads, maxThreads);
    this.#retryAfter = options.retryAfter ?? POOL_DEFAULTS.retryAfter;
    this.#piscina = new Piscina({
      maxThreads,
      minThreads,
      maxQueue: options.maxQueue ?? maxThreads * POOL_DEFAULTS.queuePerThread,
      idleTimeout: options.idleTimeout ?? POOL_DEFAULTS.idleTimeout,
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
    });
    this.#untrack = trackPool(options.name ?? 'default', this);
  }

  /**
   * Runs `task`'s export on a thread with `input` (structured-cloned, or moved when listed in
   * `transfer`). Rejects with a 503 `PoolError` when the queue is full, an `AbortError` when
   * `signal` aborts, and with the task's own error when it throws.
   */
  run<Output = unknown>(task: TaskModule, input: unknown, options: RunOptions = {}): Promise<Output> {
    if (this.#closed) return Promise.reject(PoolError.closed());
    // Not cached: a handler that builds `new URL(…)` per call would grow a cache keyed by the
    // URL object without bound, and the conversion is nothing beside a thread hop.
    const href = moduleHref(task);
    return this.#piscina
      .run(input, {
        filename: href,
        name: options.name ?? 'default',
        signal: options.signal ?? null,
        ...(options.transfer === undefined ? {} : { transferList: [...options.transfer] }),
      })
      .catch((err: unknown) => {
        // piscina's words for "no room": over maxQueue, or maxQueue 0 with every thread busy.
        if (
          err instanceof Error &&
          (err.message === 'Task queue is at limit' ||
            err.message === 'No task queue available and all Workers are busy')
        )
          throw PoolError.queueFull(this.#piscina.options.maxQueue, this.#retryAfter);
        throw err;
      });
  }

  /** Threads, queue and utilisation right now. */
  get stats(): PoolStats {
    const p = this.#piscina;
    return {
      threads: p.threads.length,
      maxThreads: p.maxThreads,
      queued: p.queueSize,
      maxQueue: p.options.maxQueue,
      completed: p.completed,
      utilization: p.utilization,
    };
  }

  /** Lets running tasks finish, then ends the threads; later `run()` calls reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#untrack();
    await this.#piscina.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
