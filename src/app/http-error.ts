import { isErrorStatus } from '../gateway/http.ts';

/**
 * An error with an HTTP status and a message that is safe to show to the client.
 *
 * @example
 * if (!user) throw new HttpError(404, `No user ${c.params.id}`);
 * throw new HttpError(422, 'Invalid order', { type: 'https://example.com/probs/order', detail: { field: 'qty' } });
 */
export class HttpError extends Error {
  readonly status: number;
  /** RFC 9457 `type`; `about:blank` unless given. */
  readonly type: string;
  /** Extra members of the problem document (RFC 9457 §3.2), e.g. `{ issues: [...] }`. */
  readonly extensions: Record<string, unknown> | undefined;
  /** Headers to send with the error response (e.g. `Allow`, `Retry-After`). */
  readonly headers: Record<string, string> | undefined;
  /** The message is written for the client (true for 4xx by default, false for 5xx). */
  readonly expose: boolean;

  constructor(
    status: number,
    message?: string,
    options: {
      type?: string;
      extensions?: Record<string, unknown>;
      headers?: Record<string, string>;
      expose?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(
      message ?? STATUS_TITLES[status] ?? 'Error',
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    if (!isErrorStatus(status)) {
      throw new RangeError(`HttpError status must be an integer from 400 to 599, got ${status}`);
    }
    this.name = 'HttpError';
    this.status = status;
    this.type = options.type ?? 'about:blank';
    this.extensions = options.extensions;
    this.headers = options.headers;
    this.expose = options.expose ?? status < 500;
  }
}

/** Reason phrases (RFC 9110 §15) used as problem titles. */
export const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  417: 'Expectation Failed',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  426: 'Upgrade Required',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
