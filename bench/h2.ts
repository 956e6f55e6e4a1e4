/**
 * h2: the hello app over HTTP/2 with TLS (EC P-256 certificate made at start with openssl),
 * h2load with 64 connections of 10 streams each (`-m 10`): strata (its HTTP/2 sessions behind a
 * TLS listener that hands over ALPN `h2` sockets), raw node:http2 with the compatibility API, and
 * nginx with `http2`. Floor (issue 18): strata's CPU per request at most 1.0× raw node:http2;
 * the ratio to nginx is reported.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeTarget, type Scenario } from './lib/harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-bench-h2-'));
const key = join(dir, 'key.pem');
const cert = join(dir, 'cert.pem');
execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
execFileSync('openssl', [
  'req',
  '-new',
  '-x509',
  '-key',
  key,
  '-out',
  cert,
  '-days',
  '2',
  '-subj',
  '/CN=localhost',
]);
const env = { TLS_KEY: key, TLS_CERT: cert };

export const scenario: Scenario = {
  name: 'h2',
  description: 'GET / → {"hello":"world"} over HTTP/2 + TLS (P-256), 10 streams per connection',
  path: '/',
  baseline: 'node:http2',
  subject: 'strata',
  http2: { streams: 10 },
  targets: [
    nodeTarget('node:http2', 'h2-node-http2.ts', env),
    nodeTarget('strata', 'h2-strata.ts', env),
    nodeTarget('strata+accesslog', 'h2-strata.ts', { ...env, ACCESS_LOG: 'combined' }),
    nodeTarget('nginx', 'h2-nginx.ts', env),
  ],
  floors: [{ vs: 'node:http2', max: 1.0 }],
};
