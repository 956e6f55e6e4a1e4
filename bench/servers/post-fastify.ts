import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post(
  '/users',
  {
    schema: {
      body: {
        type: 'object',
        required: ['name', 'email', 'age', 'admin'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 100 },
          email: { type: 'string', format: 'email' },
          age: { type: 'integer', minimum: 0, maximum: 150 },
          admin: { type: 'boolean' },
        },
      },
    },
  },
  async (request, reply) => {
    const body = request.body as { name: string };
    reply.code(201);
    return { id: 1, name: body.name };
  },
);
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
