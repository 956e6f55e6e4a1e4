import { serve } from '../../src/server.ts';

const server = await serve(() => new Response('not found', { status: 404 }), {
  port: Number(process.env.PORT),
  host: '127.0.0.1',
  logger: false,
  static: { root: process.env.STATIC_ROOT! },
  // STRATA_ACCESS_LOG=file: combined lines to a file, as nginx's access_log (sendfile stays on).
  ...(process.env.STRATA_ACCESS_LOG === undefined
    ? {}
    : { accessLog: { destination: process.env.STRATA_ACCESS_LOG } }),
});
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
