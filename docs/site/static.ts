/**
 * `npm run docs:build [DIR]`: the site as static files in docs-site/ (git ignores it), written by
 * `writeStaticSite` (docs/site/app.ts).
 */
import { join } from 'node:path';
import { writeStaticSite } from './app.ts';
import { buildSite, ROOT } from './build.ts';

const out = join(ROOT, process.argv[2] ?? 'docs-site');
const site = buildSite();
writeStaticSite(site, out);
console.log(`docs: ${site.pages.size} pages and ${site.images.size} images written to ${out}`);
