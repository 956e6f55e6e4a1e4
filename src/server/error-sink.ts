import type { IncomingMessage, ServerResponse } from 'node:http';
import { thrownFacts } from '../gateway/errors.ts';
import type { ErrorSink } from '../gateway/node-response.ts';
import { loggableError } from '../observe/loggable-error.ts';
import type { Logger } from '../observe/logger.ts';
import { sendPlain } from './responses.ts';

const CLIENT_GONE = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_DESTROYED',
]);

function isClientGone(error: unknown, res: ServerResponse): boolean {
  if (res.destroyed && !res.writableFinished) return true;
  const e = error as { code?: string; name?: string } | null;
  return e != null && (CLIENT_GONE.has(e.code ?? '') || (e.name === 'AbortError' && res.destroyed));
}

/**
 * Where every error that escapes an app lands, on both transports: logged (5xx as errors, the
 * rest as refusals), answered with its status (the message when exposed, the stack in `dev`), or
 * — too late for a status — the connection ended so that the client sees a truncated response.
 */
export function createErrorSink(log: Logger, dev: boolean): ErrorSink {
  return (error: unknown, req: IncomingMessage, res: ServerResponse): void => {
    // Containment: `error` is whatever the app threw (null, a Symbol, a frozen object, a Proxy
    // whose traps throw). It is read once, through guards, and only that copy is used below;
    // nothing here may throw, since a throw from the error path ends the process.
    const facts = thrownFacts(error);
    try {
      if (isClientGone(facts, res)) {
        log.debug({ method: req.method, url: req.url }, 'client went away before the response was complete');
        return;
      }
      const status = facts.status;
      if (status >= 500)
        log.error({ err: loggableError(error), method: req.method, url: req.url }, 'request failed');
      else log.info({ method: req.method, url: req.url, status, reason: facts.message }, 'request refused');
      if (res.headersSent) {
        // Too late for a status: end the connection without the final chunk, after what was
        // written has been flushed, so the client sees a truncated response (not a reset that
        // could swallow the part it was sent).
        // On HTTP/2 the stream is reset instead (the connection carries other streams).
        const socket = req.httpVersionMajor === 1 ? res.socket : null;
        if (socket !== null && !socket.destroyed) socket.destroySoon();
        else res.destroy();
        return;
      }
      let body: string | undefined;
      if (dev) body = facts.stack ?? facts.message;
      else if (facts.expose) body = facts.message;
      sendPlain(res, status, body);
    } catch {
      // The logger or the socket failed while answering: close rather than throw.
      res.destroy();
    }
  };
}
