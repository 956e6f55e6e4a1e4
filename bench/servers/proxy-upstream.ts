// The upstream of the proxy scenario: raw node:http answering a small JSON body with its length,
// keep-alive held longer than any proxy's idle pool timeout (so no target pays for reconnects).
import { createServer } from 'node:http';

const server = createServer((_req, res) => {
  const body = JSON.stringify({ hello: 'world' });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
