import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '../../src/server.ts';

// ACCESS_LOG=combined|json turns the access log on, writing to a file in /tmp (bench/hello.ts).
const format = process.env.ACCESS_LOG;
const logFile = join(tmpdir(), `strata-bench-access-${process.pid}.log`);
const server = await serve(
  { fetch: () => Response.json({ hello: 'world' }) },
  {
    port: Number(process.env.PORT),
    host: '127.0.0.1',
    logger: false,
    ...(process.env.RATE_LIMIT !== undefined && { rateLimit: process.env.RATE_LIMIT }),
    ...((format === 'combined' || format === 'json') && { accessLog: { format, destination: logFile } }),
  },
);
process.on('SIGTERM', () =>
  server.close().then(() => {
    rmSync(logFile, { force: true });
    process.exit(0);
  }),
);
