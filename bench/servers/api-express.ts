import { randomUUID } from 'node:crypto';
import cors from 'cors';
import express from 'express';
import responseTime from 'response-time';
import { GITHUB_ROUTES } from '../fixtures/github-routes.ts';

const app = express();
app.use((_req, res, next) => {
  res.setHeader('x-request-id', randomUUID());
  next();
});
app.use(cors());
app.use(responseTime({ header: 'server-timing', suffix: false }));
for (const [method, path] of GITHUB_ROUTES) {
  (app as unknown as Record<string, (p: string, h: express.RequestHandler) => void>)[method.toLowerCase()]!(
    path,
    (req, res) => {
      res.json({ route: path, params: req.params });
    },
  );
}
app.listen(Number(process.env.PORT), '127.0.0.1');
