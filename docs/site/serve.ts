/**
 * `npm run docs`: the guides as a site, served by strata itself (`serveDocs`, docs/site/app.ts).
 * Built once at startup; prints its URL. `PORT` and `HOST` move it (default 127.0.0.1:4000; 0
 * picks a free port).
 */
import { serveDocs } from './app.ts';
import { buildSite } from './build.ts';

const started = performance.now();
const site = buildSite();
const server = await serveDocs(site, {
  host: process.env.HOST ?? '127.0.0.1',
  port: Number(process.env.PORT ?? 4000),
});
console.log(
  `docs: ${site.pages.size} pages built in ${Math.round(performance.now() - started)} ms, serving on ${server.url}/`,
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void server.close().then(() => process.exit(0)));
}
