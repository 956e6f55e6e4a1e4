/**
 * The docs site (`npm run docs`, docs/site/): every Markdown file renders to a page, every link of
 * every page resolves on the site (a 200, and for `#anchor` an id on the target page), and no link
 * leaves the site except http(s) ones. Served by strata itself on 127.0.0.1, as the script does.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { serveDocs, writeStaticSite } from '../../docs/site/app.ts';
import { buildSite, ROOT, renderMarkdown, rewriteHref, type Site, slug } from '../../docs/site/build.ts';
import type { StrataServer } from '../../src/server.ts';

let site: Site;
let server: StrataServer;

before(async () => {
  site = buildSite();
  server = await serveDocs(site, { host: '127.0.0.1', port: 0 });
});
after(() => server.close());

/** Every href and src of a page (attribute values as the HTML carries them, entities decoded). */
function links(html: string): string[] {
  return [...html.matchAll(/\s(?:href|src)="([^"]*)"/g)].map((m) =>
    m[1]!
      .replace(/&amp;/g, '&')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'"),
  );
}

function idsOf(html: string): Set<string> {
  return new Set([...html.matchAll(/\sid="([^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&')));
}

test('every doc, the README and the benchmarks page render to a page with a title', async () => {
  const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md'));
  assert.equal(site.pages.size, docs.length + 2);
  for (const doc of docs) {
    const route = `/${doc.replace(/\.md$/, '.html')}`;
    const page = site.pages.get(route);
    assert.ok(page, `docs/${doc} has no page`);
    const res = await fetch(`${server.url}${route}`);
    assert.equal(res.status, 200, route);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.match(html, /<h1 id="/, `${route} has no h1`);
    assert.ok(!html.includes('<title>docs/'), `${route} has no title of its own`);
    // Every page lists every other in its sidebar.
    for (const other of site.pages.values()) {
      const href = other.route === '/' ? './' : other.route.slice(1);
      assert.ok(html.includes(`<a href="${href}"`), `${route}'s sidebar misses ${other.route}`);
    }
  }
  const home = await fetch(`${server.url}/`);
  assert.equal(home.status, 200);
  assert.match(await home.text(), /<h1 id="strata">/);
  assert.equal((await fetch(`${server.url}/style.css`)).status, 200);
  assert.equal((await fetch(`${server.url}/nope.html`)).status, 404);
});

test('every link of every page resolves, anchors included, and none leaves the site but http(s)', async () => {
  const checked = new Map<string, { status: number; ids: Set<string> }>();
  let internal = 0;
  let anchors = 0;
  for (const page of site.pages.values()) {
    const base = new URL(page.route, server.url);
    for (const href of links(page.html)) {
      if (/^https?:/i.test(href)) continue;
      assert.ok(!/^[a-z][a-z0-9+.-]*:/i.test(href), `${page.source}: a link that leaves the site: ${href}`);
      assert.ok(!href.startsWith('//'), `${page.source}: a protocol-relative link: ${href}`);
      const url = new URL(href, base);
      assert.equal(url.origin, base.origin, `${page.source}: ${href}`);
      const key = url.pathname;
      let target = checked.get(key);
      if (target === undefined) {
        const res = await fetch(new URL(key, base));
        const body = await res.text();
        target = { status: res.status, ids: idsOf(body) };
        checked.set(key, target);
      }
      internal++;
      assert.equal(target.status, 200, `${page.source}: ${href} answers ${target.status}`);
      if (url.hash !== '') {
        anchors++;
        const id = decodeURIComponent(url.hash.slice(1));
        assert.ok(target.ids.has(id), `${page.source}: ${href}: no id "${id}" on ${key}`);
      }
    }
  }
  // The pages link to each other, to sections and to images: the loop above checked something.
  assert.ok(internal > 100, `only ${internal} internal links`);
  assert.ok(anchors > 20, `only ${anchors} anchors`);
  assert.ok(
    [...checked.keys()].some((k) => k.startsWith('/img/')),
    'no page shows an image of docs/img/',
  );
});

test('headings get GitHub-style anchors, repeated ones numbered', () => {
  const { html, ids, title } = renderMarkdown(
    '# The `serve()` API\n\n## nginx → strata\n\n## Notes\n\n## Notes\n\n[x](#notes-1)\n',
    'docs/x.md',
  );
  assert.equal(title, 'The serve() API');
  assert.deepEqual([...ids], ['the-serve-api', 'nginx--strata', 'notes', 'notes-1']);
  assert.match(html, /<h2 id="nginx--strata"><a class="anchor" href="#nginx--strata"/);
  assert.equal(slug('Use strata in your app'), 'use-strata-in-your-app');
  assert.equal(slug('`strata serve --workers`'), 'strata-serve---workers');
});

test('links are rewritten from the repository layout to the site', () => {
  assert.equal(rewriteHref('server.md#static-files', 'docs/app.md'), 'server.html#static-files');
  assert.equal(rewriteHref('docs/cli.md#strata-init', 'README.md'), 'cli.html#strata-init');
  assert.equal(rewriteHref('../bench/README.md', 'docs/parallel.md'), 'bench.html');
  assert.equal(
    rewriteHref('../README.md#use-strata-in-your-app', 'docs/app.md'),
    './#use-strata-in-your-app',
  );
  assert.equal(rewriteHref('../docs/img/bench-hello.svg', 'bench/README.md'), 'img/bench-hello.svg');
  assert.equal(rewriteHref('img/bench-api.svg', 'docs/concurrency.md'), 'img/bench-api.svg');
  assert.equal(rewriteHref('#options', 'docs/server.md'), '#options');
  assert.equal(rewriteHref('https://example.com/a.md', 'docs/server.md'), 'https://example.com/a.md');
  // A file of the repository with no page: not a link (shown as its path, unlinked).
  assert.equal(rewriteHref('../examples/app/', 'docs/app.md'), undefined);
  assert.equal(rewriteHref('../src/server/serve.ts', 'docs/server.md'), undefined);
  assert.equal(rewriteHref('../../etc/passwd', 'docs/server.md'), undefined);
  const { html } = renderMarkdown('See [the example](../examples/app/).', 'docs/app.md');
  assert.ok(!html.includes('href='), html);
  assert.match(html, /<span class="repo-path"[^>]*>the example<\/span>/);
});

test('code is highlighted and escaped; raw text in a fence cannot become markup', () => {
  const { html } = renderMarkdown("```ts\nconst a = '<script>';\n```\n\n```\n</pre><b>x\n```\n", 'docs/x.md');
  assert.match(html, /<code class="language-ts"><span class="hljs-keyword">const<\/span>/);
  assert.ok(!html.includes('<script>'), html);
  assert.ok(!html.includes('<b>x'), html);
});

test('docs:build writes every page, the stylesheet and the images, linked relatively', () => {
  const out = mkdtempSync(join(tmpdir(), 'strata-docs-site-'));
  try {
    writeStaticSite(site, out);
    for (const page of site.pages.values()) {
      const file = join(out, page.route === '/' ? 'index.html' : page.route.slice(1));
      assert.equal(readFileSync(file, 'utf8'), page.html);
      // Every relative link of the page names a file that was written (the home is ./).
      for (const href of links(page.html)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('#')) continue;
        const path = href.split('#')[0]!;
        assert.ok(
          existsSync(join(out, path === './' || path === '' ? 'index.html' : path)),
          `${file}: ${href}`,
        );
      }
    }
    assert.ok(existsSync(join(out, 'style.css')));
    assert.deepEqual(readdirSync(join(out, 'img')).sort(), [...site.images.keys()].sort());
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
