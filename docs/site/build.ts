/**
 * The docs site: README.md (the home page), docs/*.md and bench/README.md rendered once to HTML
 * with `marked`, code highlighted with highlight.js (a few languages, registered by hand).
 *
 * Every page is a file at the top of the site (`/`, `/server.html`, `/bench.html`), so the links
 * between pages stay relative (`server.html#static-files`) and work the same from the server
 * (`npm run docs`) and from the static copy (`npm run docs:build`, opened as files).
 *
 * Links are rewritten from the repository's layout to the site's: `server.md` and
 * `docs/server.md` become `server.html`, `docs/img/x.svg` becomes `img/x.svg`. A relative link
 * to anything else of the repository (`../examples/app/`) has no page on the site: it is shown as
 * the path, unlinked, so that no link leaves the site except http(s) ones.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import dockerfile from 'highlight.js/lib/languages/dockerfile';
import ini from 'highlight.js/lib/languages/ini';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import nginx from 'highlight.js/lib/languages/nginx';
import typescript from 'highlight.js/lib/languages/typescript';
import { Marked, type Tokens } from 'marked';

hljs.registerLanguage('bash', bash);
hljs.registerLanguage('ini', ini);
hljs.registerLanguage('javascript', javascript);
hljs.registerLanguage('json', json);
hljs.registerLanguage('nginx', nginx);
hljs.registerLanguage('typescript', typescript);
hljs.registerLanguage('dockerfile', dockerfile);
const LANGUAGE_ALIASES: Record<string, string> = {
  sh: 'bash',
  shell: 'bash',
  console: 'bash',
  ts: 'typescript',
  js: 'javascript',
  mjs: 'javascript',
  jsonc: 'json',
  systemd: 'ini',
  docker: 'dockerfile',
  Dockerfile: 'dockerfile',
};

export const ROOT = join(import.meta.dirname, '..', '..');

/** A page of the site. */
export interface Page {
  /** The route: `/` or `/server.html`. */
  route: string;
  /** The Markdown file, relative to the repository: `docs/server.md`. */
  source: string;
  /** The first heading. */
  title: string;
  /** The sidebar group. */
  group: string;
  /** The rendered document. */
  html: string;
  /** Every `id` on the page (the headings'). */
  ids: Set<string>;
}

export interface Site {
  pages: Map<string, Page>;
  /** Files served under `/img/`: name → path on disk. */
  images: Map<string, string>;
  css: string;
}

/** The sidebar's order; a doc not listed here is added under "Reference", by name. */
const ORDER: { group: string; sources: string[] }[] = [
  { group: 'Start', sources: ['README.md'] },
  {
    group: 'Guides',
    sources: [
      'docs/from-express.md',
      'docs/from-fastify.md',
      'docs/from-nginx.md',
      'docs/deploying.md',
      'docs/concurrency.md',
    ],
  },
  {
    group: 'Reference',
    sources: [
      'docs/app.md',
      'docs/server.md',
      'docs/tls.md',
      'docs/http2.md',
      'docs/acme.md',
      'docs/config.md',
      'docs/cli.md',
      'docs/gateway.md',
      'docs/parallel.md',
      'docs/realtime.md',
      'docs/proxy.md',
      'docs/observe.md',
      'docs/openapi.md',
      'docs/security.md',
      'docs/errors.md',
      'docs/architecture.md',
      'bench/README.md',
    ],
  },
];

/** The site's route for a Markdown file of the repository, or undefined when it has none. */
export function routeOf(source: string): string | undefined {
  if (source === 'README.md') return '/';
  if (source === 'bench/README.md') return '/bench.html';
  const m = /^docs\/([\w-]+)\.md$/.exec(source);
  return m === null ? undefined : `/${m[1]}.html`;
}

/** The Markdown files the site is built from, in sidebar order, with their group. */
export function sources(root = ROOT): { source: string; group: string }[] {
  const listed = new Set(ORDER.flatMap((g) => g.sources));
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  const present = new Set(['README.md', 'bench/README.md', ...docs]);
  const out: { source: string; group: string }[] = [];
  for (const g of ORDER) {
    for (const source of g.sources) if (present.has(source)) out.push({ source, group: g.group });
  }
  for (const source of docs.sort()) if (!listed.has(source)) out.push({ source, group: 'Reference' });
  return out;
}

/** GitHub's heading anchors: lower case, punctuation dropped, each space a hyphen. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .trim()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" };

/** The text of some inline HTML: tags dropped, the entities marked writes decoded. */
function textOf(html: string): string {
  return html.replace(/<[^>]*>/g, '').replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ENTITIES[e]!);
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * Where a link of `from` (a file of the repository) goes on the site: a route with its hash, the
 * href unchanged (absolute URLs, `#anchors`), or undefined (a file of the repository the site has
 * no page for).
 */
export function rewriteHref(href: string, from: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('#')) return href;
  const hashAt = href.indexOf('#');
  const path = hashAt === -1 ? href : href.slice(0, hashAt);
  const hash = hashAt === -1 ? '' : href.slice(hashAt);
  const target = posix.normalize(posix.join(posix.dirname(from), decodeURI(path)));
  if (target.startsWith('docs/img/') && !target.includes('/../'))
    return `${target.slice('docs/'.length)}${hash}`;
  const route = routeOf(target);
  if (route === undefined) return undefined;
  return `${route === '/' ? './' : route.slice(1)}${hash}`;
}

function highlight(code: string, lang: string): string {
  const name = LANGUAGE_ALIASES[lang] ?? lang;
  if (name !== '' && hljs.getLanguage(name) !== undefined) {
    return hljs.highlight(code, { language: name, ignoreIllegals: true }).value;
  }
  return escapeHtml(code);
}

/** Renders one Markdown file: its HTML, title and ids. */
export function renderMarkdown(
  markdown: string,
  source: string,
): { html: string; title: string; ids: Set<string> } {
  const ids = new Set<string>();
  const used = new Map<string, number>();
  let title = '';
  const marked = new Marked({ gfm: true });
  marked.use({
    renderer: {
      heading(this: { parser: { parseInline(tokens: Tokens.Generic[]): string } }, token: Tokens.Heading) {
        const inner = this.parser.parseInline(token.tokens);
        const text = textOf(inner);
        if (title === '') title = text;
        // GitHub's rule for repeated headings: `x`, `x-1`, `x-2`, …
        const base = slug(text);
        const n = used.get(base) ?? 0;
        used.set(base, n + 1);
        const id = n === 0 ? base : `${base}-${n}`;
        ids.add(id);
        return `<h${token.depth} id="${escapeHtml(id)}"><a class="anchor" href="#${escapeHtml(id)}" aria-label="Link to this section">#</a>${inner}</h${token.depth}>\n`;
      },
      link(this: { parser: { parseInline(tokens: Tokens.Generic[]): string } }, token: Tokens.Link) {
        const inner = this.parser.parseInline(token.tokens);
        const href = rewriteHref(token.href, source);
        if (href === undefined) {
          return `<span class="repo-path" title="${escapeHtml(`In the repository: ${token.href}`)}">${inner}</span>`;
        }
        const external = /^https?:/i.test(href);
        const title = token.title ? ` title="${escapeHtml(token.title)}"` : '';
        return `<a href="${escapeHtml(href)}"${title}${external ? ' rel="noopener"' : ''}>${inner}</a>`;
      },
      image(token: Tokens.Image) {
        const src = rewriteHref(token.href, source) ?? '';
        const title = token.title ? ` title="${escapeHtml(token.title)}"` : '';
        return `<img src="${escapeHtml(src)}" alt="${escapeHtml(token.text)}"${title} loading="lazy">`;
      },
      code(token: Tokens.Code) {
        const lang = (token.lang ?? '').split(/\s+/)[0] ?? '';
        const cls = lang === '' ? '' : ` class="language-${escapeHtml(lang)}"`;
        return `<pre><code${cls}>${highlight(token.text, lang)}</code></pre>\n`;
      },
    },
  });
  const html = marked.parse(markdown, { async: false });
  return { html, title: title || source, ids };
}

function layout(page: Omit<Page, 'html'> & { body: string }, nav: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)} · strata</title>
<link rel="stylesheet" href="style.css">
</head>
<body>
<nav class="sidebar">
<a class="brand" href="./">strata</a>
<input class="search" type="search" placeholder="Filter pages" aria-label="Filter pages" oninput="for (const li of document.querySelectorAll('.sidebar li')) li.hidden = !li.textContent.toLowerCase().includes(this.value.toLowerCase())">
${nav}
</nav>
<main>
${page.body}
<footer>From <code>${escapeHtml(page.source)}</code> in the repository.</footer>
</main>
</body>
</html>
`;
}

/** Builds the whole site in memory. */
export function buildSite(root = ROOT): Site {
  const rendered = sources(root).map(({ source, group }) => {
    const { html, title, ids } = renderMarkdown(readFileSync(join(root, source), 'utf8'), source);
    return { route: routeOf(source)!, source, group, title, body: html, ids };
  });
  const pages = new Map<string, Page>();
  for (const page of rendered) {
    let nav = '';
    let group = '';
    for (const other of rendered) {
      if (other.group !== group) {
        if (group !== '') nav += '</ul>\n';
        group = other.group;
        nav += `<h2>${escapeHtml(group)}</h2>\n<ul>\n`;
      }
      const href = other.route === '/' ? './' : other.route.slice(1);
      const current = other.route === page.route ? ' aria-current="page"' : '';
      nav += `<li><a href="${href}"${current}>${escapeHtml(other.title)}</a></li>\n`;
    }
    nav += '</ul>';
    const { body, ...rest } = page;
    pages.set(page.route, { ...rest, html: layout(page, nav) });
  }
  const images = new Map<string, string>();
  const imgDir = join(root, 'docs', 'img');
  let names: string[] = [];
  try {
    names = readdirSync(imgDir);
  } catch {}
  for (const name of names)
    if (/^[\w.-]+\.(svg|png|jpe?g|gif|webp)$/.test(name)) images.set(name, join(imgDir, name));
  const css = readFileSync(join(import.meta.dirname, 'style.css'), 'utf8');
  return { pages, images, css };
}
