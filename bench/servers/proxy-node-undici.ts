// A minimal streaming reverse proxy: node:http in front, one undici.Pool (kept alive) behind,
// hop-by-hop fields dropped, bodies piped both ways. What one writes in an afternoon.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';

const pool = new Pool(process.env.UPSTREAM!, { connections: 256 });
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function strip(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>) {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && !HOP.has(name)) out[name] = value;
  return out;
}

createServer(async (req, res) => {
  try {
    const headers = strip(req.headers);
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
    const method = req.method ?? 'GET';
    const upstream = await pool.request({
      path: req.url ?? '/',
      method: method as 'GET',
      headers,
      body: method === 'GET' || method === 'HEAD' ? null : req,
    });
    res.writeHead(upstream.statusCode, strip(upstream.headers));
    upstream.body.pipe(res);
  } catch {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  }
}).listen(Number(process.env.PORT), '127.0.0.1');
