import type { Context } from './context.ts';
import { STATUS_TITLES } from './http-error.ts';

interface ErrorLike {
  status?: unknown;
  expose?: unknown;
  type?: unknown;
  extensions?: unknown;
  headers?: unknown;
  message?: unknown;
  stack?: unknown;
}

/**
 * The default error answer: RFC 9457 `application/problem+json`, or a small HTML page when the
 * client prefers HTML (a browser). The detail is shown only when the error says it is safe
 * (`expose`, true for 4xx `HttpError`s); stacks only in dev.
 */
export function renderError(error: unknown, c: Context, dev: boolean): Response {
  const e = (typeof error === 'object' && error !== null ? error : {}) as ErrorLike;
  const status = typeof e.status === 'number' && e.status >= 400 && e.status <= 599 ? e.status : 500;
  const title = STATUS_TITLES[status] ?? 'Error';
  const problem: Record<string, unknown> = {
    type: typeof e.type === 'string' ? e.type : 'about:blank',
    title,
    status,
  };
  if ((e.expose === true || dev) && typeof e.message === 'string') problem.detail = e.message;
  problem.instance = c.req.url.slice(c.req.url.indexOf('/', c.req.url.indexOf('//') + 2));
  if (e.extensions !== null && typeof e.extensions === 'object') {
    for (const [key, value] of Object.entries(e.extensions)) if (!(key in problem)) problem[key] = value;
  }
  if (dev && typeof e.stack === 'string') problem.stack = e.stack.split('\n');
  const headers: Record<string, string> = {};
  if (e.headers !== null && typeof e.headers === 'object') Object.assign(headers, e.headers);
  const requestId = c.get('requestId');
  if (typeof requestId === 'string') problem.requestId = requestId;
  if (prefersHtml(c.req.headers.get('accept'))) {
    headers['content-type'] = 'text/html; charset=utf-8';
    const detail = typeof problem.detail === 'string' ? `<p>${escapeHtml(problem.detail)}</p>` : '';
    const stack = dev && typeof e.stack === 'string' ? `<pre>${escapeHtml(e.stack)}</pre>` : '';
    return new Response(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${status} ${title}</title></head><body><h1>${status} ${title}</h1>${detail}${stack}</body></html>`,
      { status, headers },
    );
  }
  headers['content-type'] = 'application/problem+json';
  return new Response(JSON.stringify(problem), { status, headers });
}

/** Whether `text/html` is acceptable and ranked above JSON (RFC 9110 §12.5.1). */
export function prefersHtml(accept: string | null): boolean {
  if (accept === null) return false;
  let html = -1;
  let json = -1;
  for (const part of accept.split(',')) {
    const [rawType, ...params] = part.split(';');
    const type = rawType!.trim().toLowerCase();
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split('=');
      if (k?.trim().toLowerCase() === 'q') q = Number(v);
    }
    if (!(q > 0)) continue;
    if (type === 'text/html') html = Math.max(html, q);
    else if (type === 'application/json' || type === 'application/problem+json') json = Math.max(json, q);
  }
  return html > 0 && html > json;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!);
}
