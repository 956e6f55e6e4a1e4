/**
 * https: the hello app over TLS (EC P-256 certificate, TLS 1.3 as h2load negotiates it), against
 * raw node:https and nginx with ssl. Two scenarios:
 * - `https`: 64 keep-alive connections (issue 18's floor: strata ≤ 0.85× node:https CPU per request);
 * - `https-handshake`: one request per new connection, so CPU per request is CPU per full handshake
 *   (h2load does not resume sessions) — reported, no floor.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { nodeTarget, type Scenario } from './lib/harness.ts';

const dir = join(import.meta.dirname, 'results', 'tls');
mkdirSync(dir, { recursive: true });
const cert = join(dir, 'cert.pem');
const key = join(dir, 'key.pem');
if (!existsSync(cert) || !existsSync(key)) {
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
      '-days',
      '365',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
}

const env = { TLS_CERT: cert, TLS_KEY: key };
const targets = [
  nodeTarget('node:https', 'https-node.ts', env),
  nodeTarget('strata', 'https-strata.ts', env),
  nodeTarget('nginx', 'https-nginx.ts', env),
];

export const scenarios: Scenario[] = [
  {
    name: 'https',
    description: 'GET / → {"hello":"world"} over HTTPS/1.1, keep-alive',
    path: '/',
    scheme: 'https',
    baseline: 'node:https',
    subject: 'strata',
    targets,
    floors: [{ vs: 'node:https', max: 0.85 }],
  },
  {
    name: 'https-handshake',
    description: 'one GET per new TLS connection: CPU per full handshake',
    path: '/',
    scheme: 'https',
    perConnection: 1,
    baseline: 'node:https',
    subject: 'strata',
    targets,
  },
];
