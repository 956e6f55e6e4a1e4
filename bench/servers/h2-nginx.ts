// nginx as the reference for HTTP/2 over TLS: one worker, access log off, the hello body from `return`.
import { runNginx } from '../lib/nginx.ts';

runNginx({
  name: 'h2',
  workerConnections: 1024,
  http: () => `  access_log off;
  keepalive_requests 100000;
  http2_max_requests 100000;
  server {
    listen 127.0.0.1:${process.env.PORT} ssl http2;
    ssl_certificate ${process.env.TLS_CERT};
    ssl_certificate_key ${process.env.TLS_KEY};
    location / {
      default_type application/json;
      return 200 '{"hello":"world"}';
    }
  }`,
});
