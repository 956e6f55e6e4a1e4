// nginx as the reference proxy: one worker, access log off, proxy_pass to an upstream block with
// keepalive connections (HTTP/1.1, Connection cleared), buffering as nginx does by default.
import { runNginx } from '../lib/nginx.ts';

const upstream = new URL(process.env.UPSTREAM!);
runNginx({
  name: 'proxy',
  workerConnections: 4096,
  http: () => `  access_log off;
  keepalive_requests 100000;
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
  }`,
});
