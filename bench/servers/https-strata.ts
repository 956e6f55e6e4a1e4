// strata over HTTPS: the hello app with the bench's EC P-256 certificate (TLS_CERT, TLS_KEY).
import { serve } from '../../src/server.ts';

const server = await serve(
  { fetch: () => Response.json({ hello: 'world' }) },
  {
    port: Number(process.env.PORT),
    host: '127.0.0.1',
    logger: false,
    // The handshake scenario opens hundreds of connections from one address.
    maxConnectionsPerIp: 0,
    tls: { cert: process.env.TLS_CERT!, key: process.env.TLS_KEY!, watch: false },
  },
);
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
