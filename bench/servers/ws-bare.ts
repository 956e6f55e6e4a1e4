/** A bare `ws` server on node:http for `npm run bench -- ws`: `/echo` echoes (the peer). */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const server = createServer((_req, res) => res.end('ws only'));
const wss = new WebSocketServer({ server, maxPayload: 1_048_576 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(isBinary ? data : data.toString()));
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  for (const ws of wss.clients) ws.close(1001);
  server.close(() => process.exit(0));
});
