// Raw node:http answering the same ~10 KB JSON: identity, or GZIP=1 for a hand-written
// gzipSync at level 6 with no negotiation (the least any gzip on Node can cost).
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
import { JSON_10K } from '../fixtures/json-10k.ts';

const gzip = process.env.GZIP === '1';
createServer((_req, res) => {
  const body = JSON.stringify(JSON_10K);
  if (gzip) {
    const out = gzipSync(body, { level: 6 });
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      vary: 'Accept-Encoding',
      'content-length': out.length,
    });
    res.end(out);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1');
