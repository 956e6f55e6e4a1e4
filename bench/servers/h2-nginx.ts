// nginx as the reference for HTTP/2 over TLS: one worker, access log off, the hello body from `return`.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const prefix = mkdtempSync(join(tmpdir(), 'strata-nginx-h2-'));
const conf = join(prefix, 'nginx.conf');
writeFileSync(
  conf,
  `worker_processes 1;
daemon off;
error_log ${prefix}/error.log warn;
pid ${prefix}/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000;
  http2_max_requests 100000;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${process.env.PORT} ssl http2;
    ssl_certificate ${process.env.TLS_CERT};
    ssl_certificate_key ${process.env.TLS_KEY};
    location / {
      default_type application/json;
      return 200 '{"hello":"world"}';
    }
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
