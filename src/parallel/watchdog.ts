import type { IncomingMessage } from 'node:http';
import { Worker } from 'node:worker_threads';

/**
 * The watchdog's shared memory: a heartbeat the event loop writes, and the request it started
 * last, which a thread reads when the beats stop. A blocked loop cannot answer IPC, so the report
 * has to come from a thread that is not blocked.
 *
 * Layout: [0, 8) heartbeat ms (BigInt64), [8, 16) start of the last request (ms),
 * [16, 20) length of its text (Int32), [32, 32 + REQUEST_BYTES) the text: `METHOD url`.
 */
export const WATCHDOG_LAYOUT = { beat: 0, requestAt: 1, length: 4, text: 32, textBytes: 512 } as const;

export interface WatchdogOptions {
  /** Ms the loop may stay blocked. */
  timeoutMs: number;
  workerId: number;
  /** Where the thread writes its report (a JSON log line): a file descriptor. */
  logFd: number;
}

/** The loop's side of the watchdog. */
export class Watchdog {
  readonly #times: BigInt64Array;
  readonly #length: Int32Array;
  readonly #text: Buffer;
  readonly #thread: Worker;
  readonly #beat: NodeJS.Timeout;
  /** Bound once, so the server's hook allocates no closure per request. */
  readonly requestStarted: (req: IncomingMessage) => void;

  constructor(options: WatchdogOptions) {
    const memory = new SharedArrayBuffer(WATCHDOG_LAYOUT.text + WATCHDOG_LAYOUT.textBytes);
    this.#times = new BigInt64Array(memory, 0, 2);
    this.#length = new Int32Array(memory, 16, 1);
    this.#text = Buffer.from(memory, WATCHDOG_LAYOUT.text, WATCHDOG_LAYOUT.textBytes);
    Atomics.store(this.#times, WATCHDOG_LAYOUT.beat, BigInt(Date.now()));
    const thread = new URL(
      import.meta.url.endsWith('.ts') ? './watchdog-thread.ts' : './watchdog-thread.js',
      import.meta.url,
    );
    this.#thread = new Worker(thread, {
      workerData: { memory, timeoutMs: options.timeoutMs, workerId: options.workerId, logFd: options.logFd },
    });
    this.#thread.unref();
    const every = Math.max(10, Math.min(1000, Math.floor(options.timeoutMs / 4)));
    this.#beat = setInterval(
      () => Atomics.store(this.#times, WATCHDOG_LAYOUT.beat, BigInt(Date.now())),
      every,
    );
    this.#beat.unref();
    this.requestStarted = (req: IncomingMessage): void => {
      // Written, never read, by the loop: the thread reads it only after the beats stop.
      const written = this.#text.write(`${req.method} ${req.url}`, 0, WATCHDOG_LAYOUT.textBytes, 'utf8');
      this.#length[0] = written;
      this.#times[WATCHDOG_LAYOUT.requestAt] = BigInt(Date.now());
    };
  }

  stop(): Promise<number> {
    clearInterval(this.#beat);
    return this.#thread.terminate();
  }
}
