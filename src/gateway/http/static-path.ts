import { join, sep } from 'node:path';

/**
 * Maps a request path to a file under `root`, or says why not. The rules, in order:
 * no NUL (raw or encoded) → 400; percent-decoding once, where malformed or overlong UTF-8
 * (`%C0%AE`) → 400; a backslash after decoding → 400 (no second separator); a `..` segment →
 * 400 (never resolved, so `%2e%2e` and `..%2f` included); a dot-segment like `.env` → 404 unless
 * dotfiles are allowed. Double-encoded input (`%252e`) decodes once to a literal `%2e` name. The
 * joined path is checked to lie under `root` as a last line; symlinks are checked by the caller.
 */
export type StaticPath = { path: string; trailingSlash: boolean } | { status: 400 | 404 };

export function resolveStaticPath(root: string, pathname: string, allowDotfiles: boolean): StaticPath {
  if (pathname.charCodeAt(0) !== 47 || pathname.includes('\u0000') || /%00/i.test(pathname))
    return { status: 400 };
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return { status: 400 };
  }
  if (decoded.includes('\\') || decoded.includes('\u0000')) return { status: 400 };
  const segments = decoded.split('/');
  const kept: string[] = [];
  for (const segment of segments) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') return { status: 400 };
    if (segment.charCodeAt(0) === 46 /* . */ && !allowDotfiles) return { status: 404 };
    kept.push(segment);
  }
  const path = join(root, ...kept);
  if (path !== root && !path.startsWith(root.endsWith(sep) ? root : root + sep)) return { status: 400 };
  // `/a/` and `/a/.` both name a directory (a file named so is not found).
  const last = segments[segments.length - 1];
  return { path, trailingSlash: last === '' || last === '.' };
}
