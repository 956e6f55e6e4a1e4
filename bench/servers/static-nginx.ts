// nginx as the reference: one worker, sendfile on, access log off (NGINX_ACCESS_LOG=on: combined
// lines to a file), serving the same root.
import { runNginx } from '../lib/nginx.ts';

runNginx({
  name: 'static',
  workerConnections: 1024,
  http: (
    prefix,
  ) => `  access_log ${process.env.NGINX_ACCESS_LOG === 'on' ? `${prefix}/access.log combined` : 'off'};
  sendfile on;
  tcp_nopush ${process.env.NGINX_TCP_NOPUSH === 'off' ? 'off' : 'on'};
  keepalive_requests 100000;
  types { text/css css; application/octet-stream bin; }
  server {
    listen 127.0.0.1:${process.env.PORT};
    root ${process.env.STATIC_ROOT};
  }`,
});
