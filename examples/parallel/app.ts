// Run it under the supervisor:
//
//   node src/cli/main.ts serve examples/parallel/app.ts --workers auto --max-requests 5000 --max-requests-jitter 500
//   curl localhost:3000/            # which worker answered (run it a few times)
//   kill -HUP <primary pid>         # rolling reload: new pids, no failed request
//   kill -TTIN <primary pid>        # one worker more; -TTOU one fewer
//   curl localhost:3000/block       # blocks that worker's loop: the watchdog replaces it after 30 s
//                                   # (--worker-timeout) and logs "last request started: GET /block"
//
// Each worker runs startup() and shutdown() once: per-worker resources (a database pool) go there.
import { App } from '../../src/app/index.ts';
import { workerChannel } from '../../src/parallel/index.ts';

const app = new App();
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
