import { openAsBlob } from 'node:fs';
import { resolve } from 'node:path';

const filePaths = new WeakMap<Blob, string>();

/**
 * A file as a standard `Blob`, for `new Response(await openFile(path))`. On strata's Node server
 * the gateway recognises it and streams the file from disk with backpressure (no web stream, never
 * whole in memory); anywhere else it is an ordinary file-backed Blob.
 *
 * @example
 * app.get('/report', async () => new Response(await openFile('./report.pdf', { type: 'application/pdf' })));
 */
export async function openFile(path: string, options?: { type?: string }): Promise<Blob> {
  const absolute = resolve(path);
  const blob = await openAsBlob(absolute, options?.type === undefined ? undefined : { type: options.type });
  filePaths.set(blob, absolute);
  return blob;
}

/** The path behind a Blob made by `openFile`, or `undefined` for any other Blob. */
export function filePathOf(blob: Blob): string | undefined {
  return filePaths.get(blob);
}
