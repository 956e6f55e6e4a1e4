import { App, cors, requestId, serverTiming } from '../../src/app/index.ts';
import { serve } from '../../src/server.ts';
import { GITHUB_ROUTES } from '../fixtures/github-routes.ts';

const app = new App();
app.use(requestId());
app.use(cors());
app.use(serverTiming());
for (const [method, path] of GITHUB_ROUTES)
  app.on(method, path, (c) => c.json({ route: path, params: c.params }));

const server = await serve(app, { port: Number(process.env.PORT), host: '127.0.0.1', logger: false });
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
