import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import Fastify from 'fastify';
import { GITHUB_ROUTES } from '../fixtures/github-routes.ts';

const app = Fastify({ logger: false, genReqId: () => randomUUID() });
await app.register(cors, { origin: '*' });
app.addHook('onRequest', async (request) => {
  (request as unknown as { start: number }).start = performance.now();
});
app.addHook('onSend', async (request, reply) => {
  reply.header('x-request-id', request.id);
  reply.header(
    'server-timing',
    `total;dur=${(performance.now() - (request as unknown as { start: number }).start).toFixed(1)}`,
  );
});
for (const [method, path] of GITHUB_ROUTES) {
  app.route({
    method: method as 'GET',
    url: path,
    handler: async (request) => ({ route: path, params: request.params }),
  });
}
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
