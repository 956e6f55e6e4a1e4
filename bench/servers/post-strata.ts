import { z } from 'zod';
import { App, validate } from '../../src/app/index.ts';
import { serve } from '../../src/server.ts';

const User = z.object({
  name: z.string().min(1).max(100),
  email: z.string().email(),
  age: z.number().int().min(0).max(150),
  admin: z.boolean(),
});

const app = new App();
app.post('/users', validate({ body: User }), (c) => c.json({ id: 1, name: c.body.name }, 201));

const server = await serve(app, { port: Number(process.env.PORT), host: '127.0.0.1', logger: false });
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
