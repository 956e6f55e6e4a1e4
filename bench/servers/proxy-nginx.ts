// nginx as the reference proxy: one worker, access log off, proxy_pass to an upstream block with
// keepalive connections (HTTP/1.1, Connection cleared), buffering as nginx does by default.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const prefix = mkdtempSync(join(tmpdir(), 'strata-nginx-proxy-'));
const conf = join(prefix, 'nginx.conf');
const upstream = new URL(process.env.UPSTREAM!);
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
  upstream app {
    server ${upstream.host};
    keepalive 256;
    keepalive_requests 100000;
  }
  server {
    listen 127.0.0.1:${process.env.PORT};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
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
