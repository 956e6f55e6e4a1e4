// strata as a pure reverse proxy (what `strata serve --upstream $UPSTREAM` runs): every path to
// one upstream over an undici Pool, on the fast lane.
import { serve } from '../../src/server.ts';

await serve(
  { fetch: () => new Response('not proxied', { status: 404 }) },
  {
    port: Number(process.env.PORT),
    logger: false,
    proxy: {
      groups: [{ name: 'upstream', upstreams: [process.env.UPSTREAM!] }],
      routes: [{ path: '/', to: 'upstream' }],
    },
  },
);
