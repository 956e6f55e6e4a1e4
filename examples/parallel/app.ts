// Run it under the supervisor, from the repository's root (`npx node` is the Node 24 the repository
// pins; the machine's own `node` may be older):
//
//   npx node src/cli/main.ts serve examples/parallel/app.ts --workers auto --max-requests 5000 --max-requests-jitter 500
//   curl localhost:3000/            # which worker answered (run it a few times)
//   kill -HUP <primary pid>         # rolling reload: new pids, no failed request (the primary's pid
//                                   # is the `pid` of the "supervisor: …" log lines, not npx's)
//   kill -TTIN <primary pid>        # one worker more; -TTOU one fewer
//   curl localhost:3000/block       # blocks that worker's loop: the watchdog replaces it after 30 s
//                                   # (--worker-timeout) and logs "last request started: GET /block"
//
// Each worker runs startup() and shutdown() once: per-worker resources (a database pool) go there.
import { App } from '../../src/app/index.ts';
import { workerChannel } from '../../src/parallel/index.ts';

const app = new App();
// Module state is per worker: each worker process counts its own requests (see "State is per
// worker" in docs/parallel.md).
let served = 0;

app.get('/', (c) => {
  served += 1;
  return c.json({ pid: process.pid, worker: workerChannel()?.workerId ?? null, served });
});

app.get('/block', (c) => {
  const until = Date.now() + 120_000;
  while (Date.now() < until) {}
  return c.text('unblocked');
});

export default {
  fetch: app.fetch,
  startup(): void {
    process.stdout.write(`${JSON.stringify({ event: 'startup', pid: process.pid })}\n`);
  },
  shutdown(): void {
    process.stdout.write(`${JSON.stringify({ event: 'shutdown', pid: process.pid, served })}\n`);
  },
};
