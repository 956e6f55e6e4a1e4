import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import { timing } from 'hono/timing';
import { GITHUB_ROUTES } from '../fixtures/github-routes.ts';

const app = new Hono();
app.use(requestId());
app.use(cors());
app.use(timing());
for (const [method, path] of GITHUB_ROUTES)
  app.on(method, path, (c) => c.json({ route: path, params: c.req.param() }));
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
