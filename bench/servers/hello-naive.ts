// The adapter the issue calls naive: a real undici Request in, `await response.text()` out.
import { createServer } from 'node:http';

const fetchHandler = (_request: Request): Response => Response.json({ hello: 'world' });

createServer(async (req, res) => {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  const request = new Request(`http://${req.headers.host}${req.url}`, { method: req.method!, headers });
  const response = fetchHandler(request);
  const body = await response.text();
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1');
