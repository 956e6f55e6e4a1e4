import { isErrorStatus, pathOf, searchOf, trimOws } from '../gateway/http.ts';
import type { Context } from './context.ts';
import { HttpError, STATUS_TITLES } from './http-error.ts';

/**
 * What the error answer may use of a thrown value, read once through guards. A thrown value is
 * user data and may be hostile: null, a Symbol, a frozen object, an object whose getters throw,
 * a Proxy whose every trap throws (even `instanceof` runs one). Nothing below reads it directly.
 */
export interface ErrorFacts {
  /** An integer `status` from 400 to 599, else 500. */
  status: number;
  /**
   * The error speaks to the client on purpose: an `HttpError`, or an `Error` with `expose: true`
   * and a 4xx status. Only such an error sets response headers, a problem `type` and extensions;
   * a 5xx from anything else is the server's failure and says nothing about itself.
   */
  trusted: boolean;
  /** Its message may be shown: `expose: true` on a trusted error (for a 5xx, only an HttpError). */
  expose: boolean;
  message: string | undefined;
  stack: string | undefined;
  type: string | undefined;
  extensions: unknown;
  headers: unknown;
}

/** `value[key]`, or undefined when reading it throws. */
function read(value: object, key: string | symbol): unknown {
  try {
    return (value as Record<string | symbol, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** `value instanceof type`, false when a Proxy trap throws. */
function isInstance(value: object, type: abstract new (...args: never[]) => unknown): boolean {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

/**
 * The mark of an error that speaks to the client on purpose, for libraries that cannot extend
 * HttpError (strata's thread pool, whose 503 carries `Retry-After`): a property under
 * `Symbol.for('strata.httpError')` set to true, on an `Error`.
 */
const HTTP_ERROR_MARK = Symbol.for('strata.httpError');

/** An HTTP error status (an integer from 400 to 599) from a thrown value's `status`, else 500. */
export function errorStatus(error: unknown): number {
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null) return 500;
  const status = read(error, 'status');
  return isErrorStatus(status) ? status : 500;
}

/** Reads what the error answer may use of a thrown value; never throws. */
export function errorFacts(error: unknown): ErrorFacts {
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null) {
    return {
      status: 500,
      trusted: false,
      expose: false,
      message: undefined,
      stack: undefined,
      type: undefined,
      extensions: undefined,
      headers: undefined,
    };
  }
  const status = errorStatus(error);
  const exposes = read(error, 'expose') === true;
  const http =
    isInstance(error, HttpError) || (read(error, HTTP_ERROR_MARK) === true && isInstance(error, Error));
  // Another library's HTTP error (http-errors and the like) that says its message is for the
  // client, as a 4xx; a plain object claiming `expose` is not taken at its word.
  const trusted = http || (exposes && status < 500 && isInstance(error, Error));
  const message = read(error, 'message');
  const stack = read(error, 'stack');
  const type = trusted ? read(error, 'type') : undefined;
  return {
    status,
    trusted,
    expose: trusted && exposes,
    message: typeof message === 'string' ? message : undefined,
    stack: typeof stack === 'string' ? stack : undefined,
    type: typeof type === 'string' ? type : undefined,
    extensions: trusted ? read(error, 'extensions') : undefined,
    headers: trusted ? read(error, 'headers') : undefined,
  };
}

/**
 * The default error answer: RFC 9457 `application/problem+json`, or a small HTML page when the
 * client prefers HTML (a browser). The detail is shown only when the error says it is safe
 * (`expose`, true for 4xx `HttpError`s; never for a 5xx that is not an HttpError); stacks only
 * in dev. Headers, `type` and extensions come only from an error that speaks to the client on
 * purpose (see `ErrorFacts.trusted`). It never throws: whatever the error holds, the worst case
 * is a bare 500 problem.
 */
export function renderError(error: unknown, c: Context, dev: boolean): Response {
  const facts = errorFacts(error);
  try {
    return renderFacts(facts, c, dev, true);
  } catch {
    // Extensions that do not serialize (a BigInt, a throwing getter, a cycle), a header the
    // Response refuses: answer without what the error brought.
    return renderFacts(facts, c, dev, false);
  }
}

function renderFacts(facts: ErrorFacts, c: Context, dev: boolean, withExtras: boolean): Response {
  const status = facts.status;
  const title = STATUS_TITLES[status] ?? 'Error';
  const problem: Record<string, unknown> = {
    type: (withExtras ? facts.type : undefined) ?? 'about:blank',
    title,
    status,
  };
  const detail = (facts.expose || dev) && facts.message !== undefined ? facts.message : undefined;
  if (detail !== undefined) problem.detail = detail;
  const url = c.req.url;
  problem.instance = pathOf(url) + searchOf(url);
  const stack = dev ? facts.stack : undefined;
  const headers = new Headers();
  if (withExtras) {
    const extensions = facts.extensions;
    if (extensions !== null && typeof extensions === 'object') {
      for (const [key, value] of Object.entries(extensions)) if (!(key in problem)) problem[key] = value;
    }
    const given = facts.headers;
    if (given !== null && typeof given === 'object') {
      for (const [key, value] of Object.entries(given)) headers.set(key, String(value));
    }
  }
  if (stack !== undefined) problem.stack = stack.split('\n');
  const requestId = c.get('requestId');
  if (typeof requestId === 'string') problem.requestId = requestId;
  if (prefersHtml(c.req.headers.get('accept'))) {
    headers.set('content-type', 'text/html; charset=utf-8');
    const p = detail !== undefined ? `<p>${escapeHtml(detail)}</p>` : '';
    const pre = stack !== undefined ? `<pre>${escapeHtml(stack)}</pre>` : '';
    return new Response(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${status} ${title}</title></head><body><h1>${status} ${title}</h1>${p}${pre}</body></html>`,
      { status, headers },
    );
  }
  headers.set('content-type', 'application/problem+json');
  return new Response(JSON.stringify(problem), { status, headers });
}

/** Whether `text/html` is acceptable and ranked above JSON (RFC 9110 §12.5.1). */
export function prefersHtml(accept: string | null): boolean {
  if (accept === null) return false;
  let html = -1;
  let json = -1;
  for (const part of accept.split(',')) {
    const [rawType, ...params] = part.split(';');
    const type = trimOws(rawType!).toLowerCase();
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split('=');
      if (k !== undefined && trimOws(k).toLowerCase() === 'q') q = Number(v);
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
