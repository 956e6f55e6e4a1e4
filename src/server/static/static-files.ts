import { closeSync, createReadStream, fstatSync, open, type Stats } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { resolve, sep } from 'node:path';
import { evaluatePreconditions, ifRangeMatches } from '../../gateway/http/conditional.ts';
import { fileEtag } from '../../gateway/http/etag.ts';
import { contentTypeFor } from '../../gateway/http/mime.ts';
import { negotiateEncoding } from '../../gateway/http/negotiate.ts';
import { type ByteRange, parseRange } from '../../gateway/http/range.ts';
import { resolveStaticPath } from '../../gateway/http/static-path.ts';
import { pathOf, rawHeader, rawHeaderList, searchOf } from '../../gateway/http.ts';
import type { ExchangeRequest, KnownResponse } from '../exchange.ts';
import { respondWithFile } from '../h2/response.ts';
import { bodyMayBypassWrite } from '../logged-response.ts';
import { canSendfile, SendfileTransfer, sendfileAvailable } from './sendfile.ts';

/** Options of the static file server (`serve(app, { static: … })`, `strata serve --static DIR`). */
export interface StaticOptions {
  /** Directory to serve. */
  root: string;
  /** URL prefix the files live under. Default `/`. */
  prefix?: string;
  /** Files tried for a directory, in order. Default `['index.html']`. */
  index?: string[];
  /** Serve dotfiles (`.env`, `.git/…`). Default false: they answer 404. */
  dotfiles?: boolean;
  /** Symlinks: `inside` (default) follows only those whose target stays under root; `follow` any; `deny` none. */
  symlinks?: 'inside' | 'follow' | 'deny';
  /**
   * Serve this file (relative to root) for a browser navigation (GET or HEAD accepting
   * `text/html`) that matches no file and that the app answers 404: single-page apps. The app's
   * routes, and requests that are not navigations (an API call for a missing path), keep the
   * app's answer.
   */
  spaFallback?: string;
  /** `Cache-Control` max-age in seconds for ordinary files. Default 0 (revalidate every time). */
  maxAge?: number;
  /** File names that never change (hashed assets) get a year and `immutable`. Default: a hex hash of 8+ chars between dots. */
  immutable?: RegExp;
  /** Serve `.br`, `.zst`, `.gz` siblings to clients that accept them. Default true. */
  precompressed?: boolean;
  /** Files up to this size are kept in memory. Default 64 KiB (0 turns the cache off). */
  memoryCacheMaxFile?: number;
  /** Total bytes of file bodies kept in memory; the least recently used go first. Default 32 MiB. */
  memoryCacheMaxBytes?: number;
  /**
   * Files whose metadata (and body, if small) is remembered; the least recently used go first.
   * Default 4096.
   */
  memoryCacheMaxEntries?: number;
  /** How often a cached file is checked for changes, in ms. Default 1000. */
  revalidateMs?: number;
  /**
   * Read size when streaming a file from disk. Default 256 KiB: measured on a 1 MB file, 64 KiB
   * reads cost 1,349 µs of CPU per request and 256 KiB reads 1,020 µs (fewer read/write calls).
   */
  streamChunkSize?: number;
  /**
   * Send files that are not in the memory cache with sendfile(2) on plain HTTP/1.1 connections,
   * when the native addon is built (Linux). Default true; false (or no addon) streams them.
   */
  sendfile?: boolean;
}

interface Variant {
  path: string;
  size: number;
  mtimeMs: number;
  encoding: 'br' | 'zstd' | 'gzip' | undefined;
  /** The file's bytes when small enough to keep (readFile's: never a shared buffer). */
  body: Buffer<ArrayBuffer> | undefined;
}

type Precompressed = 'br' | 'zstd' | 'gzip';

interface Entry {
  /** The key in the cache: the file's resolved path (one entry per file, however it is spelled). */
  key: string;
  /** Request paths that lead here without resolving them again (see `#paths`). */
  paths: string[];
  identity: Variant;
  variants: Variant[];
  /** The variants' encodings, in the same order (what negotiateEncoding is offered). */
  encodings: Precompressed[];
  etag: string;
  lastModified: string;
  mtimeMs: number;
  type: string;
  cacheControl: string;
  checkedAt: number;
  bytes: number;
}

/** What the memory cache holds (`StaticFiles.cacheStats`). */
export interface StaticCacheStats {
  /** Files remembered. */
  readonly entries: number;
  /** Bytes of file bodies held. */
  readonly bytes: number;
  /** Request paths remembered as leading to a file. */
  readonly paths: number;
}

// A request path is remembered (to skip resolving it again, ~1 µs) only if it is this short, and
// only this many spellings per file: `/a.txt`, `/./a.txt`, `//a.txt`, `/a%2etxt`… all reach the
// one entry, but 10,000 spellings of one file cannot fill memory with keys.
const MAX_PATH_KEY = 512;
const PATHS_PER_FILE = 4;

const PRECOMPRESSED: [suffix: string, encoding: Precompressed][] = [
  ['.br', 'br'],
  ['.zst', 'zstd'],
  ['.gz', 'gzip'],
];

const EMPTY = new Uint8Array(0);

// What a request for a file asks (its conditional and range fields).
interface RequestFields {
  range: string | undefined;
  ifRange: string | undefined;
  acceptEncoding: string | undefined;
  ifMatch: string | undefined;
  ifNoneMatch: string | undefined;
  ifModifiedSince: string | undefined;
  ifUnmodifiedSince: string | undefined;
}

// The kinds of answer `#plan` makes.
const RANGE = 0; // 200 or 206 with one range (the whole file, or part of it)
const NOT_MODIFIED = 1;
const FAILED = 2;
const UNSATISFIABLE = 3;
const MULTIPART = 4;

interface Plan {
  kind: number;
  status: number;
  headers: OutgoingHttpHeaders;
  variant: Variant;
  /** The bytes of `variant` sent (RANGE): `start` to `end` inclusive. */
  start: number;
  end: number;
  ranges: ByteRange[] | undefined;
}

/** The response `handle` was given, or the one its factory makes (called only when needed). */
function responseOf(res: ServerResponse | (() => ServerResponse)): ServerResponse {
  return typeof res === 'function' ? res() : res;
}

/**
 * Serves files from a directory on node `req`/`res`, before the app and without building a
 * `Request`: ETag and Last-Modified with 304/412, byte ranges (206, multipart, 416), HEAD,
 * index files and `/dir` → `/dir/`, precompressed siblings, a memory cache for small files, and
 * no way out of the root (see static-path.ts). `next()` hands the request on when nothing matches.
 */
export class StaticFiles {
  #root: string;
  #prefix: string;
  #index: string[];
  #dotfiles: boolean;
  #symlinks: 'inside' | 'follow' | 'deny';
  #spa: string | undefined;
  #maxAge: number;
  #immutable: RegExp;
  #precompressed: boolean;
  #cacheMaxFile: number;
  #cacheMaxBytes: number;
  #cacheMaxEntries: number;
  #revalidateMs: number;
  #chunkSize: number;
  #sendfile: boolean;
  /** HTTP/2 file bodies from the descriptor (`sendfile: false` turns it off too). */
  #fileDescriptors: boolean;
  // Entries by resolved file path, least recently used first (a Map keeps insertion order).
  #cache = new Map<string, Entry>();
  // The fast path: request paths (as sent, short, a few per file) to their entry.
  #paths = new Map<string, Entry>();
  #newest: Entry | undefined;
  #cachedBytes = 0;
  #realRoot: Promise<string>;

  constructor(options: StaticOptions) {
    this.#root = resolve(options.root);
    const prefix = options.prefix ?? '/';
    this.#prefix = prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.#index = options.index ?? ['index.html'];
    this.#dotfiles = options.dotfiles ?? false;
    this.#symlinks = options.symlinks ?? 'inside';
    this.#spa = options.spaFallback;
    this.#maxAge = options.maxAge ?? 0;
    this.#immutable = options.immutable ?? /\.[0-9a-f]{8,}\./i;
    this.#precompressed = options.precompressed ?? true;
    this.#cacheMaxFile = options.memoryCacheMaxFile ?? 65_536;
    this.#cacheMaxBytes = options.memoryCacheMaxBytes ?? 33_554_432;
    this.#cacheMaxEntries = options.memoryCacheMaxEntries ?? 4096;
    for (const [name, value] of [
      ['memoryCacheMaxFile', this.#cacheMaxFile],
      ['memoryCacheMaxBytes', this.#cacheMaxBytes],
      ['memoryCacheMaxEntries', this.#cacheMaxEntries],
    ] as const) {
      if (!Number.isInteger(value) || value < 0)
        throw new TypeError(`serve(): static.${name} must be a non-negative integer, got ${String(value)}`);
    }
    this.#revalidateMs = options.revalidateMs ?? 1000;
    this.#chunkSize = options.streamChunkSize ?? 262_144;
    this.#sendfile = (options.sendfile ?? true) && sendfileAvailable;
    this.#fileDescriptors = options.sendfile ?? true;
    this.#realRoot = realpath(this.#root).catch(() => this.#root);
  }

  /** What the memory cache holds now (read-only figures, for tests and metrics). */
  get cacheStats(): StaticCacheStats {
    return { entries: this.#cache.size, bytes: this.#cachedBytes, paths: this.#paths.size };
  }

  /** How files that are not in memory go out: `sendfile` (the addon is loaded and allowed) or `stream`. */
  get diskTransport(): 'sendfile' | 'stream' {
    return this.#sendfile ? 'sendfile' : 'stream';
  }

  /**
   * Answers the request if it names a file; otherwise calls `next()`. `res` may be a function
   * that makes the response (the fast lane's bridge): it is called only when there is
   * something to answer, so a request that is not for a file costs no node response.
   */
  handle(req: IncomingMessage, res: ServerResponse | (() => ServerResponse), next: () => void): void {
    this.#serve(req, res, next, false);
  }

  /** `retried`: the file changed under an earlier attempt at this request, which looked it up again. */
  #serve(
    req: IncomingMessage,
    resOrMake: ServerResponse | (() => ServerResponse),
    next: () => void,
    retried: boolean,
  ): void {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      next();
      return;
    }
    const url = req.url ?? '/';
    const pathname = pathOf(url);
    if (!pathname.startsWith(this.#prefix) && `${pathname}/` !== this.#prefix) {
      next();
      return;
    }
    const cached = this.#paths.get(pathname);
    if (cached !== undefined && performance.now() - cached.checkedAt < this.#revalidateMs) {
      if (cached !== this.#newest) this.#touch(cached);
      this.#send(req, responseOf(resOrMake), next, cached, retried);
      return;
    }
    this.#lookup(pathname).then(
      (found) => {
        if (found === undefined) next();
        else if (typeof found === 'number') sendStatus(responseOf(resOrMake), found);
        else if (typeof found === 'string') redirect(responseOf(resOrMake), found, searchOf(url));
        else {
          this.#remember(pathname, found);
          this.#send(req, responseOf(resOrMake), next, found, retried);
        }
      },
      () => next(),
    );
  }

  /** A file entry, a status to answer, a path to redirect to, or undefined (not ours). */
  async #lookup(pathname: string): Promise<Entry | number | string | undefined> {
    const relative = `/${pathname.slice(this.#prefix.length)}`;
    const resolved = resolveStaticPath(this.#root, relative, this.#dotfiles);
    // A refused dotfile is simply not ours (the app may route `/.well-known/…`); a path that
    // tries to leave the root is answered here.
    if ('status' in resolved) return resolved.status === 404 ? undefined : resolved.status;
    let entry = await this.#entryFor(resolved.path, resolved.path);
    // A file named as a directory (`/a.txt/`, `/a.txt/.`, `/a.txt%2f`) is not found, as with nginx.
    if (entry !== undefined && entry !== 'directory' && resolved.trailingSlash) entry = undefined;
    if (entry === 'directory') {
      if (!resolved.trailingSlash) return `${pathname}/`;
      entry = undefined;
      for (const name of this.#index) {
        const path = `${resolved.path}${sep}${name}`;
        const candidate = await this.#entryFor(path, path);
        if (candidate !== undefined && candidate !== 'directory') {
          entry = candidate;
          break;
        }
      }
    }
    return entry;
  }

  async #entryFor(path: string, key: string): Promise<Entry | 'directory' | undefined> {
    let info: Stats;
    try {
      info = await stat(path);
    } catch {
      return undefined;
    }
    if (!(await this.#allowedTarget(path))) return undefined;
    if (info.isDirectory()) return 'directory';
    if (!info.isFile()) return undefined;
    const previous = this.#cache.get(key);
    if (previous !== undefined && previous.mtimeMs === info.mtimeMs && previous.identity.size === info.size) {
      previous.checkedAt = performance.now();
      this.#touch(previous);
      return previous;
    }
    const name = path.slice(path.lastIndexOf(sep) + 1);
    const entry: Entry = {
      key,
      paths: [],
      identity: { path, size: info.size, mtimeMs: info.mtimeMs, encoding: undefined, body: undefined },
      variants: [],
      encodings: [],
      etag: fileEtag(info.size, info.mtimeMs),
      lastModified: info.mtime.toUTCString(),
      mtimeMs: info.mtimeMs,
      type: contentTypeFor(name),
      cacheControl: this.#immutable.test(name)
        ? 'public, max-age=31536000, immutable'
        : `public, max-age=${this.#maxAge}`,
      checkedAt: performance.now(),
      bytes: 0,
    };
    if (this.#precompressed) {
      for (const [suffix, encoding] of PRECOMPRESSED) {
        try {
          const v = await stat(path + suffix);
          // A stale sibling (older than the file) would serve old content: skip it.
          if (v.isFile() && v.mtimeMs >= info.mtimeMs && (await this.#allowedTarget(path + suffix))) {
            entry.variants.push({
              path: path + suffix,
              size: v.size,
              mtimeMs: v.mtimeMs,
              encoding,
              body: undefined,
            });
            entry.encodings.push(encoding);
          }
        } catch {
          // No such sibling.
        }
      }
    }
    await this.#store(entry);
    return entry;
  }

  /** Symlink policy: the real path must stay under the real root (unless `follow`). */
  async #allowedTarget(path: string): Promise<boolean> {
    if (this.#symlinks === 'follow') return true;
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      return false;
    }
    const root = await this.#realRoot;
    if (this.#symlinks === 'deny' && real !== path) return false;
    return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
  }

  /** Reads the bodies that fit, then keeps the entry (replacing the file's previous one). */
  async #store(entry: Entry): Promise<void> {
    if (this.#cacheMaxFile > 0) {
      for (const variant of [entry.identity, ...entry.variants]) {
        if (variant.size <= this.#cacheMaxFile && variant.size <= this.#cacheMaxBytes) {
          try {
            const body = await readFile(variant.path);
            // The file changed between stat and read: keep streaming it instead.
            if (body.length === variant.size) {
              variant.body = body;
              entry.bytes += body.length;
            }
          } catch {
            // Gone meanwhile: it will be streamed (and fail) or re-read next time.
          }
        }
      }
    }
    const old = this.#cache.get(entry.key);
    if (old !== undefined) this.#drop(old);
    if (this.#cacheMaxEntries === 0) return;
    this.#cache.set(entry.key, entry);
    this.#cachedBytes += entry.bytes;
    this.#newest = entry;
    // Least recently used first, never the entry just stored.
    for (const other of this.#cache.values()) {
      if (this.#cache.size <= this.#cacheMaxEntries && this.#cachedBytes <= this.#cacheMaxBytes) break;
      if (other !== entry) this.#drop(other);
    }
  }

  /** Marks an entry as the most recently used. */
  #touch(entry: Entry): void {
    if (this.#cache.get(entry.key) !== entry) return;
    this.#cache.delete(entry.key);
    this.#cache.set(entry.key, entry);
    this.#newest = entry;
  }

  /** Forgets an entry, its bytes and the request paths that led to it. */
  #drop(entry: Entry): void {
    if (this.#cache.get(entry.key) !== entry) return;
    this.#cache.delete(entry.key);
    this.#cachedBytes -= entry.bytes;
    for (const path of entry.paths) this.#paths.delete(path);
    entry.paths = [];
    if (this.#newest === entry) this.#newest = undefined;
  }

  /** Remembers that `pathname` leads to `entry`, within the bounds above. */
  #remember(pathname: string, entry: Entry): void {
    if (
      // Only files reached by their own path: not an answer given in place of another file.
      entry.key !== entry.identity.path ||
      pathname.length > MAX_PATH_KEY ||
      entry.paths.length >= PATHS_PER_FILE ||
      this.#cache.get(entry.key) !== entry ||
      this.#paths.get(pathname) === entry
    )
      return;
    const other = this.#paths.get(pathname);
    if (other !== undefined) other.paths.splice(other.paths.indexOf(pathname), 1);
    this.#paths.set(pathname, entry);
    entry.paths.push(pathname);
  }

  /**
   * The answer to a GET or HEAD for a file whose bytes are in the memory cache, made at once —
   * no lookup, no I/O, no node response — for a transport that writes a known response itself
   * (the fast lane's `respond`): 200, HEAD, 304, 412, 416 and a single range. Undefined for
   * anything else (not cached yet, due for revalidation, not in memory, several ranges, a
   * redirect): the request then takes `handle`. The same decisions as `handle`'s (`#plan`).
   */
  cachedAnswer(req: ExchangeRequest): KnownResponse | undefined {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return undefined;
    const entry = this.#paths.get(pathOf(req.url));
    if (entry === undefined || performance.now() - entry.checkedAt >= this.#revalidateMs) return undefined;
    // Read as node combines them (lane requests build no headers object): the list fields
    // joined, If-Modified-Since and If-Unmodified-Since the first (node keeps the first).
    const raw = req.rawHeaders;
    const plan = this.#plan(method, entry, {
      range: rawHeaderList(raw, 'range'),
      ifRange: rawHeaderList(raw, 'if-range'),
      acceptEncoding: rawHeaderList(raw, 'accept-encoding'),
      ifMatch: rawHeaderList(raw, 'if-match'),
      ifNoneMatch: rawHeaderList(raw, 'if-none-match'),
      ifModifiedSince: rawHeader(raw, 'if-modified-since'),
      ifUnmodifiedSince: rawHeader(raw, 'if-unmodified-since'),
    });
    let answer: KnownResponse | undefined;
    switch (plan.kind) {
      case NOT_MODIFIED:
        answer = known(304, plan.headers, null);
        break;
      case FAILED:
        answer = { ...plainStatus(412), statusText: '', contentType: undefined };
        break;
      case UNSATISFIABLE:
        answer = known(416, plan.headers, null);
        break;
      case RANGE: {
        const body = plan.variant.body;
        if (body === undefined && plan.end >= plan.start) return undefined;
        // HEAD: the body's length is sent, not its bytes (the transport knows the method).
        answer = known(
          plan.status,
          plan.headers,
          body === undefined
            ? EMPTY
            : plan.start === 0 && plan.end === body.length - 1
              ? body
              : body.subarray(plan.start, plan.end + 1),
        );
        break;
      }
      default:
        return undefined;
    }
    if (entry !== this.#newest) this.#touch(entry);
    return answer;
  }

  /** What answers a request for `entry`: the one decision of both `handle` and `cachedAnswer`. */
  #plan(method: string, entry: Entry, f: RequestFields): Plan {
    const headers: OutgoingHttpHeaders = {
      'content-type': entry.type,
      'last-modified': entry.lastModified,
      'cache-control': entry.cacheControl,
      'accept-ranges': 'bytes',
      'x-content-type-options': 'nosniff',
    };
    if (entry.variants.length > 0) headers.vary = 'Accept-Encoding';
    let variant = entry.identity;
    const rangeHeader = f.range;
    // Ranges address the identity bytes; a precompressed variant is only for whole responses.
    if (entry.variants.length > 0 && rangeHeader === undefined) {
      // Nothing acceptable (identity;q=0 too): identity anyway, as for dynamic responses.
      const choice = negotiateEncoding(f.acceptEncoding, entry.encodings);
      if (choice !== 'identity' && choice !== null)
        variant = entry.variants[entry.encodings.indexOf(choice)]!;
    }
    headers.etag =
      variant === entry.identity ? entry.etag : `${entry.etag.slice(0, -1)}-${variant.encoding}"`;
    if (variant.encoding !== undefined) headers['content-encoding'] = variant.encoding;
    // Against the validator of the representation chosen: a client revalidating its br copy sends
    // the br variant's ETag, which must answer 304 (not the identity's).
    const precondition = evaluatePreconditions(f, headers.etag, entry.mtimeMs, method);
    if (precondition === 'not-modified') {
      delete headers['content-type'];
      return { kind: NOT_MODIFIED, status: 304, headers, variant, start: 0, end: -1, ranges: undefined };
    }
    if (precondition === 'failed')
      return { kind: FAILED, status: 412, headers, variant, start: 0, end: -1, ranges: undefined };
    const size = variant.size;
    let ranges: ByteRange[] | 'unsatisfiable' | undefined;
    if (rangeHeader !== undefined && ifRangeMatches(f.ifRange, entry.etag, entry.mtimeMs)) {
      ranges = parseRange(rangeHeader, size);
    }
    if (ranges === 'unsatisfiable') {
      return {
        kind: UNSATISFIABLE,
        status: 416,
        headers: { 'content-range': `bytes */${size}`, 'content-length': 0 },
        variant,
        start: 0,
        end: -1,
        ranges: undefined,
      };
    }
    if (ranges === undefined || ranges.length === 1) {
      const start = ranges === undefined ? 0 : ranges[0]!.start;
      const end = ranges === undefined ? size - 1 : ranges[0]!.end;
      if (ranges !== undefined) headers['content-range'] = `bytes ${start}-${end}/${size}`;
      headers['content-length'] = end - start + 1;
      const status = ranges === undefined ? 200 : 206;
      return { kind: RANGE, status, headers, variant, start, end, ranges: undefined };
    }
    return { kind: MULTIPART, status: 206, headers, variant, start: 0, end: -1, ranges };
  }

  #send(req: IncomingMessage, res: ServerResponse, next: () => void, entry: Entry, retried: boolean): void {
    const h = req.headers;
    const method = req.method!;
    const plan = this.#plan(method, entry, {
      range: h.range,
      ifRange: header(h['if-range']),
      acceptEncoding: h['accept-encoding'],
      ifMatch: h['if-match'],
      ifNoneMatch: h['if-none-match'],
      ifModifiedSince: h['if-modified-since'],
      ifUnmodifiedSince: h['if-unmodified-since'],
    });
    const { headers, variant, start, end } = plan;
    switch (plan.kind) {
      case NOT_MODIFIED:
      case UNSATISFIABLE:
        res.writeHead(plan.status, headers);
        res.end();
        return;
      case FAILED:
        sendStatus(res, 412);
        return;
      case MULTIPART:
        this.#multipart(res, method, headers, variant, plan.ranges!, entry.type);
        return;
    }
    if (method === 'HEAD' || variant.body !== undefined || end < start) {
      res.writeHead(plan.status, headers);
      if (method === 'HEAD' || variant.body === undefined) res.end();
      else
        res.end(
          start === 0 && end === variant.body.length - 1
            ? variant.body
            : variant.body.subarray(start, end + 1),
        );
      return;
    }
    this.#fromDisk(req, res, next, entry, variant, plan.status, headers, start, end, retried);
  }

  /** Whether a `spaFallback` page is configured. */
  get hasSpaFallback(): boolean {
    return this.#spa !== undefined;
  }

  /**
   * Whether a request path is under the files' `prefix` (the single-page app's own URLs): the
   * fallback answers only those, as nginx's `try_files` inside `location /app/` would.
   */
  covers(pathname: string): boolean {
    return pathname.startsWith(this.#prefix) || `${pathname}/` === this.#prefix;
  }

  /**
   * The `spaFallback` page as a `Response` (200, or 304 for a matching validator), for a
   * navigation a fetch app answered 404; undefined when the page is missing.
   */
  async spaResponse(request: Request): Promise<Response | undefined> {
    const entry = await this.#spaEntry();
    if (entry === undefined) return undefined;
    const headers: Record<string, string> = {
      'content-type': entry.type,
      'last-modified': entry.lastModified,
      'cache-control': entry.cacheControl,
      etag: entry.etag,
      'x-content-type-options': 'nosniff',
    };
    const h = request.headers;
    const precondition = evaluatePreconditions(
      {
        ifMatch: h.get('if-match') ?? undefined,
        ifNoneMatch: h.get('if-none-match') ?? undefined,
        ifModifiedSince: h.get('if-modified-since') ?? undefined,
        ifUnmodifiedSince: h.get('if-unmodified-since') ?? undefined,
      },
      entry.etag,
      entry.mtimeMs,
      request.method,
    );
    if (precondition === 'not-modified') {
      delete headers['content-type'];
      return new Response(null, { status: 304, headers });
    }
    if (precondition === 'failed') return new Response(null, { status: 412 });
    let body = entry.identity.body;
    if (body === undefined) {
      try {
        body = await readFile(entry.identity.path);
      } catch {
        return undefined;
      }
    }
    return new Response(body, { status: 200, headers });
  }

  /**
   * For a node-style app, whose 404 cannot be told from its other answers before it is written:
   * the `spaFallback` page for a navigation that named no file, before the app; `next()` for
   * any other request (an API call keeps reaching the app).
   */
  serveSpa(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    if (!isNavigation(req.method ?? '', req.headers.accept) || !this.covers(pathOf(req.url ?? '/'))) {
      next();
      return;
    }
    this.#spaEntry().then(
      (entry) => {
        if (entry === undefined) next();
        else this.#send(req, res, next, entry, false);
      },
      () => next(),
    );
  }

  async #spaEntry(): Promise<Entry | undefined> {
    if (this.#spa === undefined) return undefined;
    const cached = this.#cache.get('\u0000spa');
    if (cached !== undefined && performance.now() - cached.checkedAt < this.#revalidateMs) return cached;
    const entry = await this.#entryFor(resolve(this.#root, this.#spa), '\u0000spa');
    return entry === 'directory' ? undefined : entry;
  }

  /** RFC 9110 §14.6 multipart/byteranges. */
  #multipart(
    res: ServerResponse,
    method: string,
    headers: OutgoingHttpHeaders,
    variant: Variant,
    ranges: ByteRange[],
    type: string,
  ): void {
    const boundary = `strata-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    const heads = ranges.map(
      (r, i) =>
        `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${r.start}-${r.end}/${variant.size}\r\n\r\n`,
    );
    const tail = `\r\n--${boundary}--\r\n`;
    let length = Buffer.byteLength(tail);
    ranges.forEach((r, i) => {
      length += Buffer.byteLength(heads[i]!) + (r.end - r.start + 1);
    });
    headers['content-type'] = `multipart/byteranges; boundary=${boundary}`;
    headers['content-length'] = length;
    res.writeHead(206, headers);
    if (method === 'HEAD') {
      res.end();
      return;
    }
    const parts = async (): Promise<void> => {
      for (let i = 0; i < ranges.length; i++) {
        if (res.destroyed) return;
        res.write(heads[i]!);
        const r = ranges[i]!;
        if (variant.body !== undefined) res.write(variant.body.subarray(r.start, r.end + 1));
        else {
          for await (const chunk of createReadStream(variant.path, { start: r.start, end: r.end })) {
            if (!res.write(chunk)) await new Promise((ok) => res.once('drain', ok));
          }
        }
      }
      res.end(tail);
    };
    parts().catch(() => res.destroy());
  }

  /**
   * Opens the file first and checks that it is still the one the head describes (a file replaced
   * since it was looked up would send other bytes under the old ETag and length): if not, the
   * request is looked up again, once. Then the head, and the body with sendfile or a stream.
   */
  #fromDisk(
    req: IncomingMessage,
    res: ServerResponse,
    next: () => void,
    entry: Entry,
    variant: Variant,
    status: number,
    headers: OutgoingHttpHeaders,
    start: number,
    end: number,
    retried: boolean,
  ): void {
    open(variant.path, 'r', (error, fd) => {
      let current: Stats | undefined;
      if (error === null) {
        try {
          current = fstatSync(fd);
        } catch {
          closeSync(fd);
        }
      }
      if (current === undefined || current.size !== variant.size || current.mtimeMs !== variant.mtimeMs) {
        if (current !== undefined) closeSync(fd);
        entry.checkedAt = Number.NEGATIVE_INFINITY;
        if (retried) {
          res.setHeader('retry-after', '1');
          sendStatus(res, 503);
        } else this.#serve(req, res, next, true);
        return;
      }
      if (res.destroyed) {
        closeSync(fd);
        return;
      }
      // HTTP/2: from the descriptor, read and framed by node (h2/response.ts), when allowed.
      if (this.#fileDescriptors && respondWithFile(res, fd, status, headers, start, end - start + 1)) return;
      res.writeHead(status, headers);
      // A response whose write or end someone wrapped (compression) streams, so that the wrapper
      // sees the bytes; the access log's response counts what sendfile sent (countBodyBytes).
      if (
        this.#sendfile &&
        req.httpVersionMajor === 1 &&
        bodyMayBypassWrite(res) &&
        canSendfile(req.socket)
      ) {
        new SendfileTransfer(res, fd, start, end - start + 1).start();
      } else {
        this.#stream(res, variant.path, fd, start, end);
      }
    });
  }

  /** Large files stream from disk with pipe's backpressure, never whole in memory. */
  #stream(res: ServerResponse, path: string, fd: number, start: number, end: number): void {
    const stream = createReadStream(path, { fd, start, end, highWaterMark: this.#chunkSize });
    stream.on('error', () => res.destroy());
    res.once('close', () => stream.destroy());
    // A file truncated while being read ends early: end the connection rather than leave the
    // client waiting for the bytes Content-Length promised.
    stream.once('end', () => {
      if (stream.bytesRead === end - start + 1) res.end();
      else res.destroy();
    });
    stream.pipe(res, { end: false });
  }
}

/**
 * A browser navigation, the only kind of request a single-page app's page answers: GET or HEAD
 * whose Accept names `text/html` (`fetch()` and XHR calls send `*\/*` or a JSON type).
 */
export function isNavigation(method: string, accept: string | null | undefined): boolean {
  return (
    (method === 'GET' || method === 'HEAD') && accept != null && accept.toLowerCase().includes('text/html')
  );
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The short plain-text answers of static files (its head and body). */
function plainStatus(status: number): { status: number; headers: OutgoingHttpHeaders; body: string } {
  const body = `${status === 400 ? 'Bad Request' : status === 404 ? 'Not Found' : status === 412 ? 'Precondition Failed' : status === 503 ? 'The file is changing; retry shortly' : 'Error'}\n`;
  return {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) },
    body,
  };
}

function sendStatus(res: ServerResponse, status: number): void {
  const answer = plainStatus(status);
  res.writeHead(status, answer.headers);
  res.end(answer.body);
}

function known(status: number, headers: OutgoingHttpHeaders, body: Uint8Array | null): KnownResponse {
  return { status, statusText: '', headers, contentType: undefined, body };
}

function redirect(res: ServerResponse, location: string, query: string): void {
  // One leading slash only: `//evil.example/dir` must not become a protocol-relative redirect.
  res.writeHead(301, { location: `/${location.replace(/^\/+/, '')}${query}`, 'content-length': 0 });
  res.end();
}
