/**
 * The docs site as a strata app: every page rendered once (docs/site/build.ts) and answered from
 * memory; the images of docs/img/ are the server's static files (`static` option of `serve()`).
 * `writeStaticSite` writes the same pages as files.
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type Context } from '../../src/index.ts';
import { type StrataServer, serve } from '../../src/server.ts';
import { ROOT, type Site } from './build.ts';

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

/** Serves the site on `host:port` (127.0.0.1 unless told), images from docs/img/ under /img/. */
export function serveDocs(site: Site, options: { host?: string; port?: number } = {}): Promise<StrataServer> {
  return serve(docsApp(site), {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 4000,
    static: { root: join(ROOT, 'docs', 'img'), prefix: '/img/' },
    logger: false,
  });
}

/**
 * Writes the site to `out` (emptied first): one HTML file per page (`index.html` for the home),
 * style.css and img/. Links are relative, so the folder opens from disk or any file server.
 */
export function writeStaticSite(site: Site, out: string): void {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'img'), { recursive: true });
  for (const page of site.pages.values()) {
    writeFileSync(join(out, page.route === '/' ? 'index.html' : page.route.slice(1)), page.html);
  }
  writeFileSync(join(out, 'style.css'), site.css);
  for (const [name, path] of site.images) copyFileSync(path, join(out, 'img', name));
}
