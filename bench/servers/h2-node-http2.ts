// Raw node:http2 at its best with the compatibility API: the body serialised per request, sent with its length.
import { readFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';

createSecureServer(
  { key: readFileSync(process.env.TLS_KEY!), cert: readFileSync(process.env.TLS_CERT!) },
  (_req, res) => {
    const body = JSON.stringify({ hello: 'world' });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  },
).listen(Number(process.env.PORT), '127.0.0.1');
