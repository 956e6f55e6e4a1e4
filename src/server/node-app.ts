import type { ServerResponse } from 'node:http';
import type { NodeHandler } from '../gateway/node.ts';
import type { ErrorSink } from '../gateway/node-response.ts';
import type { ResponseCompressor } from './compression/compressor.ts';
import { compressNodeResponse } from './compression/node-response.ts';
import type { StaticFiles } from './static/static-files.ts';

/**
 * A node-style app (Express, a bare `(req, res)`): compressed by the server when compression is
 * on, its throws answered by the error sink, and behind the static SPA fallback. Node apps write
 * their own headers, so the drain must reach the responses in flight (`markClosing`).
 */
export function nodeAppHandler(
  nodeApp: NodeHandler,
  compressor: ResponseCompressor | undefined,
  onError: ErrorSink,
  staticFiles: StaticFiles | undefined,
): { handler: NodeHandler; markClosing: () => void } {
  const inFlight = new Set<ServerResponse>();
  const forget = function (this: ServerResponse): void {
    inFlight.delete(this);
  };
  const run: NodeHandler = (req, res) => {
    inFlight.add(res);
    res.once('close', forget);
    if (compressor !== undefined) compressNodeResponse(compressor, req, res);
    try {
      nodeApp(req, res);
    } catch (err) {
      onError(err, req, res);
    }
  };
  return {
    // A node app's 404 cannot be caught before it is written: the page answers navigations
    // that named no file, before the app; every other request reaches the app.
    handler:
      staticFiles?.hasSpaFallback === true
        ? (req, res) => staticFiles.serveSpa(req, res, () => run(req, res))
        : run,
    markClosing: () => {
      for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
    },
  };
}
