/**
 * The strong validator strata gives a file: its size and modification time in hex
 * (`"1a2b-18f3c2d4e5a"`, nginx's shape). The edge's static files and `serveStatic()` share it, so a
 * client revalidating against either gets the same answer.
 */
export function fileEtag(size: number, mtimeMs: number): string {
  return `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;
}
