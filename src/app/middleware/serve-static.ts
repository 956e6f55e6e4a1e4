import { realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { openFile } from '../../gateway/file-body.ts';
import { evaluatePreconditions, ifRangeMatches } from '../../gateway/http/conditional.ts';
import { fileEtag } from '../../gateway/http/etag.ts';
import { contentTypeFor } from '../../gateway/http/mime.ts';
import { type ByteRange, parseRange } from '../../gateway/http/range.ts';
import { resolveStaticPath } from '../../gateway/http/static-path.ts';
import { pathOf, searchOf } from '../../gateway/http.ts';
import type { Context } from '../context.ts';
import type { Middleware, Next } from '../types.ts';

/** Options of `serveStatic()`: the subset of the edge's `static` option that needs no cache. */
export interface ServeStaticOptions {
  /** Directory to serve. */
  root: string;
  /** URL prefix the files live under. Default `/`. */
  prefix?: string;
  /** Files tried for a directory, in order. Default `['index.html']`. */
  index?: string[];
  /** Serve dotfiles (`.env`, `.git/…`). Default false: they pass on to the app (usually a 404). */
  dotfiles?: boolean;
  /** Symlinks: `inside` (default) follows only those whose target stays under root; `follow` any; `deny` none. */
  symlinks?: 'inside' | 'follow' | 'deny';
  /** `Cache-Control` max-age in seconds for ordinary files. Default 0 (revalidate every time). */
  maxAge?: number;
  /** File names that never change (hashed assets) get a year and `immutable`. Default: a hex hash of 8+ chars between dots. */
  immutable?: RegExp;
}

const TEXT = { 'content-type': 'text/plain; charset=utf-8' };

/**
 * Static files as app middleware, for runtimes without strata's server (Bun, Deno, a plain
 * `node:http` server through the gateway's adapter): the edge's own rules — the same path
 * resolution (no `..`, no encoded NUL or backslash, dotfiles off, symlinks kept inside the root),
 * the same ETag, `Last-Modified`, 304/412 preconditions, byte ranges (206, multipart, 416) and
 * MIME types — with the file read through `openFile`, so on strata's server it still goes out
 * from disk. No memory cache and no precompressed siblings: on strata's server prefer the
 * edge's `static` option, which has both. A request that names no file goes on to the app.
 *
 * @example
 * app.use(serveStatic({ root: './public', prefix: '/assets' }));
 */
export function serveStatic(options: ServeStaticOptions): Middleware {
  const root = resolve(options.root);
  const rawPrefix = options.prefix ?? '/';
  const prefix = rawPrefix.endsWith('/') ? rawPrefix : `${rawPrefix}/`;
  const index = options.index ?? ['index.html'];
  const dotfiles = options.dotfiles ?? false;
  const symlinks = options.symlinks ?? 'inside';
  const maxAge = options.maxAge ?? 0;
  if (!Number.isInteger(maxAge) || maxAge < 0)
    throw new TypeError(`serveStatic({ maxAge }) must be a whole number of seconds ≥ 0, got ${maxAge}`);
  const immutable = options.immutable ?? /\.[0-9a-f]{8,}\./i;
  let realRoot: Promise<string> | undefined;

  /** Symlink policy: the real path must stay under the real root (unless `follow`). */
  const allowed = async (path: string): Promise<boolean> => {
    if (symlinks === 'follow') return true;
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      return false;
    }
    realRoot ??= realpath(root).catch(() => root);
    const base = await realRoot;
    if (symlinks === 'deny' && real !== path) return false;
    return real === base || real.startsWith(base.endsWith(sep) ? base : base + sep);
  };

  /** A file's path and stats, 'directory', or undefined (missing, refused, not a regular file). */
  const find = async (path: string) => {
    try {
      const info = await stat(path);
      if (!(await allowed(path))) return undefined;
      if (info.isDirectory()) return 'directory' as const;
      return info.isFile() ? { path, size: info.size, mtimeMs: info.mtimeMs } : undefined;
    } catch {
      return undefined;
    }
  };

  return async (c: Context, next: Next) => {
    const method = c.req.method;
    if (method !== 'GET' && method !== 'HEAD') return next();
    const pathname = pathOf(c.req.url);
    if (!pathname.startsWith(prefix) && `${pathname}/` !== prefix) return next();
    const resolved = resolveStaticPath(root, `/${pathname.slice(prefix.length)}`, dotfiles);
    // A refused dotfile is not ours (the app may route `/.well-known/…`); a path that tries to
    // leave the root is answered here.
    if ('status' in resolved) {
      if (resolved.status === 404) return next();
      return new Response('Bad Request\n', { status: 400, headers: TEXT });
    }
    let file = await find(resolved.path);
    if (file !== undefined && file !== 'directory' && resolved.trailingSlash) file = undefined;
    if (file === 'directory') {
      if (!resolved.trailingSlash) {
        // One leading slash only: `//evil.example/dir` must not become a protocol-relative redirect.
        const location = `/${pathname.replace(/^\/+/, '')}/${searchOf(c.req.url)}`;
        return new Response(null, { status: 301, headers: { location } });
      }
      file = undefined;
      for (const name of index) {
        const candidate = await find(`${resolved.path}${sep}${name}`);
        if (candidate !== undefined && candidate !== 'directory') {
          file = candidate;
          break;
        }
      }
    }
    if (file === undefined) return next();
    return send(c.req, file, maxAge, immutable);
  };
}

async function send(
  request: Request,
  file: { path: string; size: number; mtimeMs: number },
  maxAge: number,
  immutable: RegExp,
): Promise<Response> {
  const name = file.path.slice(file.path.lastIndexOf(sep) + 1);
  const type = contentTypeFor(name);
  const etag = fileEtag(file.size, file.mtimeMs);
  const headers: Record<string, string> = {
    'content-type': type,
    'last-modified': new Date(file.mtimeMs).toUTCString(),
    'cache-control': immutable.test(name)
      ? 'public, max-age=31536000, immutable'
      : `public, max-age=${maxAge}`,
    'accept-ranges': 'bytes',
    'x-content-type-options': 'nosniff',
    etag,
  };
  const h = request.headers;
  const precondition = evaluatePreconditions(
    {
      ifMatch: h.get('if-match') ?? undefined,
      ifNoneMatch: h.get('if-none-match') ?? undefined,
      ifModifiedSince: h.get('if-modified-since') ?? undefined,
      ifUnmodifiedSince: h.get('if-unmodified-since') ?? undefined,
    },
    etag,
    file.mtimeMs,
    request.method,
  );
  if (precondition === 'not-modified') {
    delete headers['content-type'];
    return new Response(null, { status: 304, headers });
  }
  if (precondition === 'failed') return new Response('Precondition Failed\n', { status: 412, headers: TEXT });
  const size = file.size;
  let ranges: ByteRange[] | 'unsatisfiable' | undefined;
  const range = h.get('range') ?? undefined;
  if (range !== undefined && ifRangeMatches(h.get('if-range') ?? undefined, etag, file.mtimeMs))
    ranges = parseRange(range, size);
  if (ranges === 'unsatisfiable')
    return new Response(null, { status: 416, headers: { 'content-range': `bytes */${size}` } });
  let blob: Blob;
  try {
    blob = await openFile(file.path, { type });
  } catch {
    return new Response('Not Found\n', { status: 404, headers: TEXT });
  }
  // The file changed between stat and open: its bytes would not match the ETag and length.
  if (blob.size !== size) {
    return new Response('The file is changing; retry shortly\n', {
      status: 503,
      headers: { ...TEXT, 'retry-after': '1' },
    });
  }
  const head = request.method === 'HEAD';
  if (ranges === undefined) {
    headers['content-length'] = String(size);
    return new Response(head ? null : blob, { status: 200, headers });
  }
  if (ranges.length === 1) {
    const { start, end } = ranges[0]!;
    headers['content-range'] = `bytes ${start}-${end}/${size}`;
    headers['content-length'] = String(end - start + 1);
    return new Response(head ? null : blob.slice(start, end + 1), { status: 206, headers });
  }
  // RFC 9110 §14.6 multipart/byteranges, as a Blob of file slices (read only when sent).
  const boundary = `strata-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  const parts: (string | Blob)[] = [];
  ranges.forEach((r, i) => {
    parts.push(
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`,
      blob.slice(r.start, r.end + 1),
    );
  });
  parts.push(`\r\n--${boundary}--\r\n`);
  const body = new Blob(parts);
  headers['content-type'] = `multipart/byteranges; boundary=${boundary}`;
  headers['content-length'] = String(body.size);
  return new Response(head ? null : body, { status: 206, headers });
}
