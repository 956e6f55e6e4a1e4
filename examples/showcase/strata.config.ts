/**
 * `npm start`: the showcase app, its single-page app under /app/ (static files with the SPA
 * fallback) and the admin listener with the live dashboard at http://127.0.0.1:9100/dashboard.
 * Flags still win: `npm start -- --port 8080 --workers 2`.
 */
import { defineConfig } from '../../src/config.ts';
import { ADMIN, SPA } from './serving.ts';

export default defineConfig({
  app: './app.ts',
  static: SPA,
  admin: ADMIN,
});
