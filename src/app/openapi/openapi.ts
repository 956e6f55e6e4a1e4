import { createHash } from 'node:crypto';
import { noneMatchHits } from '../../gateway/http/conditional.ts';
import type { App } from '../app.ts';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import type { Middleware, Variables } from '../types.ts';
import { describeRoute } from './describe-route.ts';
import {
  initScript,
  locateSwaggerUi,
  PAGE_CSP,
  pageHtml,
  type SwaggerUiPackage,
  UI_FILES,
  uiFile,
} from './docs-page.ts';
import { generateOpenApi, type OpenApiDocumentOptions } from './document.ts';
import type { OpenApiDocument } from './types.ts';

/** Options of `openapi()`: the document's, and where it and its docs page are served. */
export interface OpenApiOptions extends OpenApiDocumentOptions {
  /** Path of the JSON document. Default `'/openapi.json'`. */
  path?: string;
  /**
   * Path of the docs page (Swagger UI, from the `swagger-ui-dist` package), its files under it
   * (`/docs/swagger-ui.css`…); `false` for none. Default `'/docs'`.
   */
  docs?: string | false;
  /** Middleware in front of the document and the docs page: an auth check, for one. */
  middleware?: Middleware<string, Variables>[];
}

/** The served document, built once. */
interface Built {
  document: OpenApiDocument;
  body: string;
  etag: string;
}

/**
 * Serves the app's OpenAPI 3.1 document at `/openapi.json` and a docs page at `/docs`. The
 * document is generated once, at startup (or on the first request, under `app.request()`), from
 * the routes registered by then. Returns a function that gives the document.
 *
 * @example
 * const app = new App();
 * app.get('/users/:id', describeRoute({ summary: 'One user' }), (c) => c.json({ id: c.params.id }));
 * openapi(app, { info: { title: 'Users', version: '1.0.0' } });
 */
export function openapi<V extends Variables>(app: App<V>, options: OpenApiOptions): () => OpenApiDocument {
  const path = options.path ?? '/openapi.json';
  const docs = options.docs ?? '/docs';
  checkPath('path', path);
  if (docs !== false) checkPath('docs', docs);
  const { path: _p, docs: _d, middleware = [], ...documentOptions } = options;
  const front = [describeRoute({ hidden: true }), ...middleware] as Middleware<string, V>[];
  let built: Built | undefined;
  const build = (): Built => {
    if (built !== undefined) return built;
    const document = generateOpenApi(app, documentOptions);
    const body = JSON.stringify(document);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    built = { document, body, etag };
    return built;
  };
  app.onStartup(() => {
    build();
  });

  app.get(path, ...front, (c: Context) => {
    const { body, etag } = build();
    // RFC 9110 §8.8.3 and §13.1.2: the document changes only with a deploy; clients revalidate.
    const headers = { etag, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
    if (noneMatchHits(c.req.headers.get('if-none-match') ?? '', etag))
      return new Response(null, { status: 304, headers });
    return new Response(body, { headers: { 'content-type': 'application/json', ...headers } });
  });

  if (docs !== false) {
    const ui: SwaggerUiPackage = locateSwaggerUi();
    const base = `${docs.slice(docs.lastIndexOf('/') + 1)}/`;
    const html = pageHtml(options.info.title, base, ui.version);
    const init = initScript(relativeUrl(docs, path));
    app.get(docs, ...front, () => {
      return new Response(html, {
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-cache',
          'content-security-policy': PAGE_CSP,
          'x-content-type-options': 'nosniff',
        },
      });
    });
    app.get(`${docs}/init.js`, ...front, () => {
      return new Response(init, {
        headers: {
          'content-type': 'text/javascript; charset=utf-8',
          'cache-control': 'no-cache',
          'x-content-type-options': 'nosniff',
        },
      });
    });
    for (const file of Object.keys(UI_FILES)) {
      app.get(`${docs}/${file}`, ...front, (c: Context) => uiFile(ui, file, c.searchParams.get('v')));
    }
  }
  return () => build().document;
}

function checkPath(option: string, value: unknown): void {
  if (typeof value !== 'string' || value.charCodeAt(0) !== 47 || value === '/' || value.endsWith('/')) {
    throw new AppError(
      'STRATA_ERR_ROUTE_PATH',
      `openapi({ ${option}: ${JSON.stringify(value)} }): give a path that starts with "/" and does not end with it, such as "/docs"`,
    );
  }
}

/** The URL of `to` relative to a page at `from`, both paths of one app: `/docs` → `./openapi.json`. */
export function relativeUrl(from: string, to: string): string {
  const dir = from.split('/').slice(1, -1);
  const target = to.split('/').slice(1);
  let common = 0;
  while (common < dir.length && common < target.length - 1 && dir[common] === target[common]) common++;
  const ups = dir.length - common;
  const rest = target.slice(common).join('/');
  return ups === 0 ? `./${rest}` : `${'../'.repeat(ups)}${rest}`;
}
