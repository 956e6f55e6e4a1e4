// nginx with ssl as the reference for HTTPS: one worker, the same certificate, TLS 1.2–1.3 with
// Mozilla's intermediate suites, session cache off (h2load makes full handshakes anyway), the
// hello body from `return 200`.
import { runNginx } from '../lib/nginx.ts';

runNginx({
  name: 'tls',
  workerConnections: 4096,
  http: () => `  access_log off;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:${process.env.PORT} ssl;
    ssl_certificate ${process.env.TLS_CERT};
    ssl_certificate_key ${process.env.TLS_KEY};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    default_type application/json;
    location / { return 200 '{"hello":"world"}'; }
  }`,
});
