/**
 * `npm run docs:build`: the same site as static files in docs-site/ (git ignores it): one HTML
 * file per page, style.css and img/. Links are relative, so the folder opens from disk or any
 * file server.
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSite, ROOT } from './build.ts';

const out = join(ROOT, process.argv[2] ?? 'docs-site');
const site = buildSite();
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'img'), { recursive: true });
for (const page of site.pages.values()) {
  writeFileSync(join(out, page.route === '/' ? 'index.html' : page.route.slice(1)), page.html);
}
writeFileSync(join(out, 'style.css'), site.css);
for (const [name, path] of site.images) copyFileSync(path, join(out, 'img', name));
console.log(`docs: ${site.pages.size} pages and ${site.images.size} images written to ${out}`);
