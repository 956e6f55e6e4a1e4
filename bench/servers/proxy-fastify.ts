// @fastify/http-proxy in front of the upstream (its undici pool, kept alive), logger off.
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const app = Fastify({ logger: false });
await app.register(proxy, { upstream: process.env.UPSTREAM! });
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
