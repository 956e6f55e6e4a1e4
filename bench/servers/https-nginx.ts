// nginx with ssl as the reference for HTTPS: one worker, the same certificate, TLS 1.2–1.3 with
// Mozilla's intermediate suites, session cache off (h2load makes full handshakes anyway), the
// hello body from `return 200`. Run in the foreground as this wrapper's child (as static-nginx.ts).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const prefix = mkdtempSync(join(tmpdir(), 'strata-nginx-tls-'));
const conf = join(prefix, 'nginx.conf');
writeFileSync(
  conf,
  `worker_processes 1;
daemon off;
error_log ${prefix}/error.log warn;
pid ${prefix}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${process.env.PORT} ssl;
    ssl_certificate ${process.env.TLS_CERT};
    ssl_certificate_key ${process.env.TLS_KEY};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    default_type application/json;
    location / { return 200 '{"hello":"world"}'; }
  }
}
`,
);
const nginx = spawn('nginx', ['-p', prefix, '-c', conf], { stdio: 'inherit' });
process.on('SIGTERM', () => {
  nginx.kill('SIGQUIT');
  nginx.once('exit', () => process.exit(0));
});
nginx.on('exit', (code) => process.exit(code ?? 1));
