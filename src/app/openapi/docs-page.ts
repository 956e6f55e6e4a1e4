/**
 * The docs page: Swagger UI (swagger-ui-dist, an optional peer dependency) served by the app
 * itself, so the page needs no network beyond the server. The files are streamed from the
 * package's folder through `openFile` (on strata's server: from disk, with sendfile).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openFile } from '../../gateway/file-body.ts';
import { AppError } from '../errors.ts';

/** The package files the page loads, with their media types. */
export const UI_FILES: Readonly<Record<string, string>> = Object.freeze({
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
});

/** Where swagger-ui-dist is installed, and its version (it versions the asset URLs). */
export interface SwaggerUiPackage {
  dir: string;
  version: string;
}

/** Finds swagger-ui-dist where `strata-stack` can import it; throws `STRATA_ERR_OPENAPI_DOCS_UI`. */
export function locateSwaggerUi(): SwaggerUiPackage {
  try {
    const manifest = fileURLToPath(import.meta.resolve('swagger-ui-dist/package.json'));
    const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version?: unknown };
    if (typeof version !== 'string') throw new Error('its package.json has no version');
    return { dir: dirname(manifest), version };
  } catch (err) {
    throw new AppError(
      'STRATA_ERR_OPENAPI_DOCS_UI',
      `The docs page needs the swagger-ui-dist package (${err instanceof Error ? err.message : String(err)}): run npm install swagger-ui-dist, or pass docs: false to openapi()`,
    );
  }
}

/**
 * A package file as a response. The URL carries the package version (`?v=5.35.0`): with the
 * current one it is cached for a year, as immutable; with any other, revalidated.
 */
export async function uiFile(ui: SwaggerUiPackage, file: string, version: string | null): Promise<Response> {
  const type = UI_FILES[file]!;
  const body = await openFile(join(ui.dir, file), { type });
  return new Response(body, {
    headers: {
      'content-type': type,
      'cache-control': version === ui.version ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
    },
  });
}

/** The script that starts Swagger UI on the document. */
export function initScript(specUrl: string): string {
  // JSON.stringify of a string is a valid JS string literal; "<" is escaped anyway so the text
  // could not close a <script> element if it were ever inlined.
  const url = JSON.stringify(specUrl).replace(/</g, '\\u003c');
  return `window.ui = SwaggerUIBundle({
  url: ${url},
  dom_id: '#swagger-ui',
  deepLinking: true,
  // No call to the public validator service: the page talks to this server only.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
});
`;
}

/**
 * The HTML of the page at `pagePath`. Asset URLs are relative to the page (`docs/swagger-ui.css`
 * from `/docs`), so the page works at whatever prefix the app is mounted.
 */
export function pageHtml(title: string, base: string, version: string): string {
  const v = `?v=${encodeURIComponent(version)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${base}swagger-ui.css${v}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${base}swagger-ui-bundle.js${v}"></script>
<script src="${base}init.js${v}"></script>
</body>
</html>
`;
}

/**
 * Only the page's own scripts and styles run; Swagger UI sets inline styles, and "Try it out"
 * calls the API's servers, which may be other origins.
 */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src *; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
