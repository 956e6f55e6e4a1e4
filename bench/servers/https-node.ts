// Raw node:https at its best (as hello-node-http.ts), with the same certificate and TLS settings
// as strata's defaults (TLS 1.2–1.3, ECDHE suites).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

createServer(
  {
    cert: readFileSync(process.env.TLS_CERT!),
    key: readFileSync(process.env.TLS_KEY!),
    minVersion: 'TLSv1.2',
  },
  (_req, res) => {
    const body = JSON.stringify({ hello: 'world' });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  },
).listen(Number(process.env.PORT), '127.0.0.1');
