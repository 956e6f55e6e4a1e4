/**
 * An app meant to run behind nginx: it shows what strata concluded about the client (address,
 * scheme, request id) from the headers nginx sets. Run it from the repository's root with
 * `npx node examples/behind-nginx/serve.ts` (the pinned Node 24; the machine's `node` may be older)
 * and nginx with `nginx.conf` beside this file (see README.md).
 */
import { App, requestId } from '../../src/index.ts';
import type { ServeOptions } from '../../src/server.ts';

export const app = new App();
app.use(requestId()); // adopts the server's id, so the app, the response and the log agree
app.get('/', (c) =>
  c.json({
    client: c.info.remote.address, // the client as nginx saw it, not nginx
    secure: c.info.secure, // true when nginx got the request over TLS (X-Forwarded-Proto)
    url: c.req.url,
    requestId: c.get('requestId'), // nginx's $request_id
  }),
);

export const options: ServeOptions = {
  port: Number(process.env.PORT ?? 3000),
  trustProxy: ['127.0.0.1'], // nginx's address: only it may speak for the client
  accessLog: { format: 'combined', destination: process.env.ACCESS_LOG ?? 'stdout' },
};
