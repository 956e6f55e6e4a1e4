/**
 * strata WebSockets for `npm run bench -- ws`: `/echo` echoes, `/sub` subscribes to `fan`,
 * `/pub` publishes what it receives to `fan` (app.publish). REDIS_URL picks the Redis broker.
 */
import { App } from '../../src/index.ts';
import { RedisBroker } from '../../src/realtime/index.ts';
import { serve } from '../../src/server.ts';

const app = new App();
app.get('/echo', (c) =>
  c.upgrade({
    message(ws, data) {
      ws.send(data);
    },
  }),
);
app.get('/sub', (c) =>
  c.upgrade({
    open(ws) {
      ws.subscribe('fan');
    },
    message() {},
  }),
);
app.get('/pub', (c) =>
  c.upgrade({
    message(_ws, data) {
      app.publish('fan', data);
    },
  }),
);
const redis = process.env.REDIS_URL;
const server = await serve(app, {
  port: Number(process.env.PORT),
  host: '127.0.0.1',
  logger: false,
  maxConnections: 20_000,
  ...(redis === undefined ? {} : { broker: await RedisBroker.connect({ url: redis }) }),
});
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
