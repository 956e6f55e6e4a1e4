import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { rawHeader } from '../gateway/http.ts';

/**
 * The body length a request declares in Content-Length, or -1 when it declares none (chunked
 * bodies are counted while they are read). Scans rawHeaders: building `req.headers` costs more.
 * llhttp has already refused a malformed or conflicting Content-Length (RFC 9112 §6.3).
 */
export function declaredBodyLength(rawHeaders: string[]): number {
  const length = rawHeader(rawHeaders, 'content-length');
  return length === undefined ? -1 : Number(length);
}

/** A short plain-text answer the server gives on its own (errors, limits). */
export function sendPlain(res: ServerResponse, status: number, message?: string): void {
  const body = `${message ?? STATUS_CODES[status] ?? 'Error'}\n`;
  // Whatever a failed write left behind (a bad status text, headers set by a node app) must not
  // break the error answer too: start from a clean slate, and if even that fails, close. The
  // server's own lines stay: Connection, Retry-After, and HSTS over TLS (every HTTPS answer).
  res.statusMessage = STATUS_CODES[status] ?? 'Error';
  for (const name of res.getHeaderNames())
    if (name !== 'connection' && name !== 'retry-after' && name !== 'strict-transport-security')
      res.removeHeader(name);
  try {
    res.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-content-type-options': 'nosniff',
    });
    res.end(body);
  } catch {
    res.destroy();
  }
}
