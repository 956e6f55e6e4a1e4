import { isWellFormedRequestId } from '../../gateway/http.ts';
import { beforeMiddleware } from '../compose.ts';
import type { Middleware } from '../types.ts';
import { randomUuid } from './random-uuid.ts';

export interface RequestIdOptions {
  /** Header read (when trusted) and written. Default `x-request-id`. */
  header?: string;
  /**
   * Take the client's id when it is well formed (behind a proxy that sets it): 1–128 visible
   * ASCII characters other than `"` and `\`, the server's access-log rule. Default false.
   */
  trustIncoming?: boolean;
  /**
   * Makes a new id. Default: a random UUID, as `crypto.randomUUID()` makes (122 random bits from
   * the CSPRNG: unique and unguessable), made in batches (see random-uuid.ts).
   */
  generate?: () => string;
}

/**
 * Gives every request an id: `c.get('requestId')`, the response header, and the `requestId`
 * member of error answers (so a user's bug report can be found in the logs). Behind a server
 * that gives ids (`info.requestId`, strata's access log), that id is used as is.
 *
 * @example
 * app.use(requestId({ trustIncoming: true }));
 */
export function requestId(options: RequestIdOptions = {}): Middleware<string, { requestId: string }> {
  const header = (options.header ?? 'x-request-id').toLowerCase();
  const generate = options.generate ?? randomUuid;
  const trust = options.trustIncoming === true;
  return beforeMiddleware((c) => {
    // The server's id (strata's access log gives one) wins: the log and the app then agree.
    let id: string | null | undefined = c.info.requestId;
    if (id === undefined) {
      id = trust ? c.req.headers.get(header) : null;
      if (id === null || !isWellFormedRequestId(id)) id = generate();
    }
    c.set('requestId', id);
    c.header(header, id);
    return undefined;
  }) as Middleware<string, { requestId: string }>;
}
