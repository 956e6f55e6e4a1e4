// The watchdog's thread: reads the heartbeat its worker's event loop writes (see watchdog.ts) and,
// when the loop has been silent past the timeout, logs the request it started last and kills the
// process, which the supervisor replaces. Runs in its own event loop, so a blocked main loop
// cannot stop it.
import { writeSync } from 'node:fs';
import { workerData } from 'node:worker_threads';

const { memory, timeoutMs, workerId, logFd } = workerData as {
  memory: SharedArrayBuffer;
  timeoutMs: number;
  workerId: number;
  logFd: number;
};
const times = new Float64Array(memory, 0, 1);
const counters = new Int32Array(memory, 16, 2);
const text = Buffer.from(memory, 32);
const every = Math.max(10, Math.min(500, Math.floor(timeoutMs / 10)));

// When the request counter last moved, as seen from here: dates the last request to within `every`.
let seenSeq = 0;
let seqChangedAt = 0;

const check = (): void => {
  const now = Date.now();
  const seq = counters[1]!;
  if (seq !== seenSeq) {
    seenSeq = seq;
    seqChangedAt = now;
  }
  const blockedMs = now - times[0]!;
  if (blockedMs <= timeoutMs) return;
  const request = seq === 0 ? null : text.toString('latin1', 0, Math.min(counters[0]!, text.length));
  const line = {
    level: 50,
    time: now,
    pid: process.pid,
    workerId,
    blockedMs,
    timeoutMs,
    request,
    requestAgeMs: seq === 0 ? null : now - seqChangedAt,
    msg: `watchdog: event loop blocked for ${blockedMs} ms (over workerTimeout); last request started: ${request ?? 'none'}; killing worker ${workerId}`,
  };
  writeSync(logFd, `${JSON.stringify(line)}\n`);
  process.kill(process.pid, 'SIGKILL');
};

setInterval(check, every);
