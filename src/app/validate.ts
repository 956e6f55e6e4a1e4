import { BODY_DEFAULTS, type BodyLimits, parseBody } from './body.ts';
import type { Context } from './context.ts';
import { HttpError } from './http-error.ts';
import { withOpenApi } from './openapi/marker.ts';
import type { InferOutput, StandardIssue, StandardSchemaV1 } from './standard-schema.ts';
import type { Middleware, Typed } from './types.ts';

/** What `validate()` checks: any Standard Schema (zod, valibot, arktype…) per part. */
export interface ValidationTargets {
  body?: StandardSchemaV1;
  query?: StandardSchemaV1;
  params?: StandardSchemaV1;
  headers?: StandardSchemaV1;
  cookies?: StandardSchemaV1;
  /** Checked only with `dev: true`: the JSON the handler answers with. */
  response?: StandardSchemaV1;
}

export interface ValidateOptions {
  /** Body parser limits (see `BodyLimits`). */
  limits?: Partial<BodyLimits>;
  /** Check `response` (costly: reads the response body). Default false. */
  dev?: boolean;
}

type OutputsOf<T extends ValidationTargets> = {
  [K in Exclude<keyof T, 'response'> as T[K] extends StandardSchemaV1
    ? K
    : never]: T[K] extends StandardSchemaV1 ? InferOutput<T[K]> : never;
};

/** One failed check, as it appears in the problem document's `issues`. */
export interface ValidationIssue {
  in: 'body' | 'query' | 'params' | 'headers' | 'cookies' | 'response';
  /** Dotted path to the failing value (`items.0.qty`), `''` for the whole part. */
  path: string;
  message: string;
}

const PARTS = ['params', 'query', 'headers', 'cookies', 'body'] as const;

/**
 * Validates the parts of a request with Standard Schemas and types them for the handler
 * (`c.body`, `c.valid.query`, …). Every failing part is reported at once, as RFC 9457
 * problem+json with status 400 and an `issues` list.
 *
 * @example
 * const User = z.object({ name: z.string(), age: z.number().int() });
 * app.post('/users', validate({ body: User }), (c) => c.json(c.body, 201));
 */
export function validate<T extends ValidationTargets>(
  targets: T,
  options: ValidateOptions = {},
): Middleware<string, {}, {}> & Typed<OutputsOf<T>> {
  const limits: BodyLimits = { ...BODY_DEFAULTS, ...options.limits };
  const parts = PARTS.filter((p) => targets[p] !== undefined);
  const checkResponse = options.dev === true ? targets.response : undefined;
  const middleware = async (c: Context, next: () => Promise<Response>): Promise<Response> => {
    const issues: ValidationIssue[] = [];
    for (const part of parts) {
      const raw = part === 'body' ? await parseBody(c.req, limits) : rawPart(c, part);
      const result = await targets[part]!['~standard'].validate(raw);
      if (result.issues !== undefined) for (const issue of result.issues) issues.push(toIssue(part, issue));
      else c.setValid(part, result.value);
    }
    if (issues.length > 0) {
      throw new HttpError(400, `Validation failed: ${issues.length} issue${issues.length === 1 ? '' : 's'}`, {
        extensions: { issues },
      });
    }
    const res = await next();
    if (checkResponse !== undefined && (res.headers.get('content-type') ?? '').includes('json')) {
      const result = await checkResponse['~standard'].validate(await res.clone().json());
      if (result.issues !== undefined) {
        throw new HttpError(500, 'The response does not match its schema', {
          expose: true,
          extensions: { issues: result.issues.map((i) => toIssue('response', i)) },
        });
      }
    }
    return res;
  };
  // The OpenAPI generator reads the schemas from here (src/app/openapi/marker.ts).
  withOpenApi(middleware, { validate: targets });
  return middleware as Middleware<string, {}, {}> & Typed<OutputsOf<T>>;
}

/**
 * A part as the schema sees it: a null-prototype object of own keys, so an absent `toString` or
 * `constructor` reads as absent (not as Object.prototype's), and a `__proto__` key is kept as a key.
 */
function rawPart(c: Context, part: 'params' | 'query' | 'headers' | 'cookies'): unknown {
  if (part === 'params') return ownCopy(c.params);
  if (part === 'cookies') return ownCopy(c.cookies);
  if (part === 'headers') {
    const out = Object.create(null) as Record<string, string>;
    for (const [k, v] of c.req.headers) out[k] = v;
    return out;
  }
  // Query: a repeated key becomes an array, a single one stays a string.
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [k, v] of c.searchParams) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}

function ownCopy(source: Record<string, string>): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const k of Object.keys(source)) out[k] = source[k]!;
  return out;
}

function toIssue(part: ValidationIssue['in'], issue: StandardIssue): ValidationIssue {
  const path = (issue.path ?? [])
    .map((seg) => String(typeof seg === 'object' && seg !== null ? seg.key : seg))
    .join('.');
  return { in: part, path, message: issue.message };
}
