// strata's HTTP/2: serve() with `http2`, behind a TLS listener that hands each ALPN `h2` socket to
// `server.http2.accept` (what strata's own HTTPS listener does).
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { serve } from '../../src/server.ts';

const format = process.env.ACCESS_LOG;
const logFile = join(tmpdir(), `strata-bench-h2-access-${process.pid}.log`);
const server = await serve(
  { fetch: () => Response.json({ hello: 'world' }) },
  {
    port: 0,
    host: '127.0.0.1',
    logger: false,
    http2: true,
    ...((format === 'combined' || format === 'json') && { accessLog: { format, destination: logFile } }),
  },
);
const tls = createServer(
  {
    key: readFileSync(process.env.TLS_KEY!),
    cert: readFileSync(process.env.TLS_CERT!),
    ALPNProtocols: ['h2', 'http/1.1'],
  },
  (socket) => {
    if (socket.alpnProtocol === 'h2') server.http2!.accept(socket);
    else server.node.emit('connection', socket);
  },
).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  tls.close();
  void server.close().then(() => {
    rmSync(logFile, { force: true });
    process.exit(0);
  });
});
