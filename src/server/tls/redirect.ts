import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../observe/logger.ts';

/** What the redirect listener needs. */
export interface RedirectOptions {
  port: number;
  host: string;
  /** The HTTPS port the redirects point at (left out of the URL when 443). */
  httpsPort: number;
  /** `allowedHosts`' matcher (over raw headers), when set: another Host gets 421, no redirect. */
  hostAllowed?: ((rawHeaders: string[]) => boolean) | undefined;
  headersTimeout: number;
  maxHeaderSize: number;
  log: Logger;
  /**
   * Answers a request before the redirect (true: answered). The ACME HTTP-01 challenge
   * (`/.well-known/acme-challenge/…`) is answered here, on port 80, by the ACME client.
   */
  intercept?: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  /** Listen with SO_REUSEPORT (the workers of `strata serve --workers` share the port). */
  reusePort?: boolean | undefined;
}

// A Host value: a DNS name or an IPv4 address, or a bracketed IPv6 address, with an optional
// port (RFC 9110 §7.2, RFC 3986 §3.2.2). Anything else — a userinfo, a path, a space — is 400:
// it would make the Location header point somewhere else.
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::[0-9]{1,5})?$/;

/** The 308 target for a request, or the status that refuses it. */
export function redirectTarget(
  req: Pick<IncomingMessage, 'url' | 'headers' | 'rawHeaders'>,
  httpsPort: number,
  hostAllowed?: (rawHeaders: string[]) => boolean,
): string | 400 | 421 {
  const host = req.headers.host;
  const m = host === undefined ? null : HOST.exec(host);
  // Origin-form only (RFC 9112 §3.2.1): an absolute-form target would carry its own host.
  const url = req.url ?? '';
  if (m === null || !url.startsWith('/') || url.startsWith('//')) return 400;
  if (hostAllowed !== undefined && !hostAllowed(req.rawHeaders)) return 421;
  const name = m[1]!.toLowerCase();
  return `https://${name}${httpsPort === 443 ? '' : `:${httpsPort}`}${url}`;
}

/**
 * The plain HTTP listener of `tls.redirectHttp`: every request gets 308 Permanent Redirect
 * (RFC 9110 §15.4.9: the method and body are kept, unlike 301) to the same path and query on
 * HTTPS, the host taken from the Host header (checked against `allowedHosts` when set: the
 * redirect must not become an open redirect to any name a client writes).
 */
export async function startRedirect(
  options: RedirectOptions,
): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const server = createServer(
    {
      headersTimeout: options.headersTimeout,
      requestTimeout: options.headersTimeout,
      maxHeaderSize: options.maxHeaderSize,
      requireHostHeader: false,
      connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(options.headersTimeout / 4))),
    },
    (req, res) => {
      if (options.intercept?.(req, res) === true) return;
      const target = redirectTarget(req, options.httpsPort, options.hostAllowed);
      if (typeof target === 'number') {
        res.writeHead(target, { 'content-length': 0 }).end();
        return;
      }
      res.writeHead(308, { location: target, 'content-length': 0 }).end();
    },
  );
  server.keepAliveTimeout = 5000;
  server.maxConnections = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: options.host, reusePort: options.reusePort === true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => options.log.error({ err }, 'redirect listener error'));
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${host}:${address.port}`,
    // Every answer here is written at once: nothing is in flight to wait for. A connection still
    // open is idle or sending a head, and node stops timing heads out once the server closes, so
    // all go now (or one half-sent head would keep the process alive).
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
