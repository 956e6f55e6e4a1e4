// nginx as the reference: one worker, sendfile on, access log off (NGINX_ACCESS_LOG=on: combined
// lines to a file), serving the same root. The
// wrapper writes the config for $PORT and runs nginx in the foreground as its child, so the
// harness measures nginx's whole process tree.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const prefix = mkdtempSync(join(tmpdir(), 'strata-nginx-'));
const conf = join(prefix, 'nginx.conf');
writeFileSync(
  conf,
  `worker_processes 1;
daemon off;
error_log ${prefix}/error.log warn;
pid ${prefix}/nginx.pid;
events { worker_connections 1024; }
http {
  access_log ${process.env.NGINX_ACCESS_LOG === 'on' ? `${prefix}/access.log combined` : 'off'};
  sendfile on;
  tcp_nopush ${process.env.NGINX_TCP_NOPUSH === 'off' ? 'off' : 'on'};
  keepalive_requests 100000;
  types { text/css css; application/octet-stream bin; }
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${process.env.PORT};
    root ${process.env.STATIC_ROOT};
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
