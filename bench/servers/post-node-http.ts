// Raw node:http at its best for a POST: the body read in chunks, parsed, checked by hand.
import { createServer } from 'node:http';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let user: { name?: unknown; email?: unknown; age?: unknown; admin?: unknown };
    try {
      user = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (
      req.method !== 'POST' ||
      typeof user.name !== 'string' ||
      typeof user.email !== 'string' ||
      !EMAIL.test(user.email) ||
      !Number.isInteger(user.age) ||
      typeof user.admin !== 'boolean'
    ) {
      res.writeHead(400).end();
      return;
    }
    const body = JSON.stringify({ id: 1, name: user.name });
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
