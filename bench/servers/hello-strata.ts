import { serve } from '../../src/server/index.ts';

const server = await serve(
  { fetch: () => Response.json({ hello: 'world' }) },
  { port: Number(process.env.PORT), host: '127.0.0.1', logger: false },
);
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
