/**
 * How `npm start` serves the showcase, shared by strata.config.ts, the tests and the screenshot
 * script: the single-page app's files and the admin listener's address.
 */
import { fileURLToPath } from 'node:url';

/**
 * The single-page app (spa/) under /app/: its files are served before the app, and a browser
 * navigation the app answers 404 (a deep link such as /app/notes/3) gets spa/index.html, whose
 * script routes on the client. API calls keep the app's own 404.
 */
export const SPA = {
  root: fileURLToPath(new URL('./spa/', import.meta.url)),
  prefix: '/app/',
  spaFallback: 'index.html',
};

/** The admin listener: /metrics, /healthz and the live dashboard, on loopback only. */
export const ADMIN = { host: '127.0.0.1', port: 9100 };

/** Where the home page's banner points: the dashboard (`SHOWCASE_DASHBOARD` overrides it). */
export function dashboardUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.SHOWCASE_DASHBOARD || `http://${ADMIN.host}:${ADMIN.port}/dashboard`;
}
