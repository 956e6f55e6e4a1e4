import type { IncomingMessage } from 'node:http';
import { Worker } from 'node:worker_threads';

/**
 * The watchdog's shared memory: a heartbeat the event loop writes, and the request it started
 * last, which a thread reads when the beats stop. A blocked loop cannot answer IPC, so the report
 * has to come from a thread that is not blocked.
 *
 * Layout: [0, 8) heartbeat ms (Float64), [16, 20) length of the last request's text (Int32),
 * [20, 24) requests started (Int32, wraps), [32, 32 + textBytes) the text: `METHOD url`, cut.
 */
export const WATCHDOG_LAYOUT = { beat: 0, text: 32, textBytes: 256 } as const;

export interface WatchdogOptions {
  /** Ms the loop may stay blocked. */
  timeoutMs: number;
  workerId: number;
  /** Where the thread writes its report (a JSON log line): a file descriptor. */
  logFd: number;
}

/** The loop's side of the watchdog. */
export class Watchdog {
  readonly #times: Float64Array;
  readonly #length: Int32Array;
  readonly #text: Buffer;
  readonly #thread: Worker;
  readonly #beat: NodeJS.Timeout;
  /** Bound once, so the server's hook allocates no closure per request. */
  readonly requestStarted: (req: IncomingMessage) => void;

  constructor(options: WatchdogOptions) {
    const memory = new SharedArrayBuffer(WATCHDOG_LAYOUT.text + WATCHDOG_LAYOUT.textBytes);
    this.#times = new Float64Array(memory, 0, 1);
    this.#length = new Int32Array(memory, 16, 2);
    this.#text = Buffer.from(memory, WATCHDOG_LAYOUT.text, WATCHDOG_LAYOUT.textBytes);
    this.#times[WATCHDOG_LAYOUT.beat] = Date.now();
    const thread = new URL(
      import.meta.url.endsWith('.ts') ? './watchdog-thread.ts' : './watchdog-thread.js',
      import.meta.url,
    );
    this.#thread = new Worker(thread, {
      workerData: { memory, timeoutMs: options.timeoutMs, workerId: options.workerId, logFd: options.logFd },
    });
    this.#thread.unref();
    const every = Math.max(10, Math.min(1000, Math.floor(options.timeoutMs / 4)));
    this.#beat = setInterval(() => {
      this.#times[WATCHDOG_LAYOUT.beat] = Date.now();
    }, every);
    this.#beat.unref();
    const text = this.#text;
    const length = this.#length;
    const max = WATCHDOG_LAYOUT.textBytes;
    this.requestStarted = (req: IncomingMessage): void => {
      // Written, never read, by the loop: the thread reads it only once the beats have stopped,
      // so plain stores do (no atomics), and nothing is allocated per request. A JS loop over
      // char codes skips Buffer#write's native call (2-3x cheaper for strings this short,
      // measured); a request line is ASCII (anything else is %-encoded), and a stray non-ASCII
      // char only blurs the log line.
      const method = req.method!;
      const url = req.url!;
      let n = 0;
      for (let i = 0; i < method.length; i++) text[n++] = method.charCodeAt(i);
      text[n++] = 32;
      const end = Math.min(url.length, max - n);
      for (let i = 0; i < end; i++) text[n++] = url.charCodeAt(i);
      length[0] = n;
      // A sequence number, not a clock read (Date.now() costs as much as the copy): the thread
      // notes when the number last changed, which dates the request to within one of its checks.
      length[1] = (length[1]! + 1) | 0;
    };
  }

  stop(): Promise<number> {
    clearInterval(this.#beat);
    return this.#thread.terminate();
  }
}
