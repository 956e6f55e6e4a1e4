/**
 * HTTP/2 behind strata's own HTTPS listener: `tls` + `http2` in one serve(), the client choosing
 * h2 by ALPN (and HTTP/1.1 on the same port without it); HSTS, the access log and metrics see
 * HTTP/2 exchanges as they see HTTP/1.1 ones.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ServeInfo } from '../../../src/gateway/types.ts';
import { type StrataServer, serve } from '../../../src/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-h2-tls-'));
let server: StrataServer;
const logFile = join(dir, 'access.log');

before(async () => {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  server = await serve(
    { fetch: (req: Request, info?: ServeInfo) => Response.json({ protocol: info?.protocol, url: req.url }) },
    {
      port: 0,
      logger: false,
      http2: true,
      metrics: true,
      accessLog: { destination: logFile },
      tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), hsts: true },
    },
  );
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function h2Get(path: string): Promise<{ status: number; hsts: unknown; body: string }> {
  return new Promise((resolve, reject) => {
    const client = connect(server.url, { rejectUnauthorized: false });
    client.on('error', reject);
    const req = client.request({ ':path': path });
    let status = 0;
    let hsts: unknown;
    let body = '';
    req.on('response', (h) => {
      status = Number(h[':status']);
      hsts = h['strict-transport-security'];
    });
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      client.close();
      resolve({ status, hsts, body });
    });
    req.on('error', reject);
  });
}

test('a client that offers h2 by ALPN gets HTTP/2 from the HTTPS listener, with HSTS; the app sees h2 and https', async () => {
  const reply = await h2Get('/a');
  assert.equal(reply.status, 200);
  assert.equal(reply.hsts, 'max-age=31536000');
  const body = JSON.parse(reply.body) as { protocol: string; url: string };
  assert.equal(body.protocol, 'h2');
  assert.match(body.url, /^https:\/\/127\.0\.0\.1:\d+\/a$/);
});

test('a client without ALPN h2 gets HTTP/1.1 on the same port', async () => {
  const body = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(`${server.url}/b`, { rejectUnauthorized: false, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
  assert.notEqual((JSON.parse(body) as { protocol: string }).protocol, 'h2');
});

test('HTTP/2 exchanges are metered and logged with their protocol', async () => {
  await h2Get('/logged');
  const text = (await server.metrics?.text()) ?? '';
  assert.match(text, /strata_http_requests_total\{[^}]*status="200"[^}]*\} [1-9]/);
  // The log is buffered: it is written by the time the server has closed.
  await server.close();
  const log = readFileSync(logFile, 'utf8');
  assert.match(log, /"GET \/logged HTTP\/2\.0" 200 \d+/);
});
