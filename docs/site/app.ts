/**
 * The docs site as a strata app: every page rendered once (docs/site/build.ts) and answered from
 * memory; the images of docs/img/ are the server's static files (`static` option of `serve()`).
 */
import { App, type Context } from '../../src/index.ts';
import type { Site } from './build.ts';

export function docsApp(site: Site): App {
  const app = new App();
  app.get('/style.css', (c) =>
    c.send(site.css, { headers: { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'no-cache' } }),
  );
  const page = (c: Context, route: string): Response => {
    const found = site.pages.get(route);
    return found === undefined ? c.text('Not found', 404) : c.html(found.html);
  };
  app.get('/', (c) => page(c, '/'));
  app.get('/:name{[A-Za-z0-9_-]+\\.html}', (c) => page(c, `/${c.params.name}`));
  return app;
}
