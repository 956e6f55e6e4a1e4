/**
 * The marker a middleware carries so that the OpenAPI generator can describe what it does, with
 * no import of the generator: a property keyed by a registered symbol (`Symbol.for`), so two
 * copies of strata in one process, or a library that does not depend on strata, agree on it.
 */
import type { StandardSchemaV1 } from '../standard-schema.ts';

/**
 * The key of the marker: `Symbol.for('strata.openapi')`. A library can write the same expression
 * instead of importing it.
 */
export const OPENAPI: unique symbol = Symbol.for('strata.openapi');

/** An OpenAPI 3.1 Security Scheme Object (§4.8.27), as `components.securitySchemes` holds it. */
export type SecuritySchemeObject =
  | { type: 'apiKey'; name: string; in: 'query' | 'header' | 'cookie'; description?: string }
  | { type: 'http'; scheme: string; bearerFormat?: string; description?: string }
  | { type: 'mutualTLS'; description?: string }
  | { type: 'oauth2'; flows: Record<string, unknown>; description?: string }
  | { type: 'openIdConnect'; openIdConnectUrl: string; description?: string };

/**
 * What an authentication middleware declares: the schemes it checks, by name, and which of them
 * let a request through.
 *
 * @example
 * // A bearer-token middleware, accepted alone:
 * const security: OpenApiSecurity = {
 *   schemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
 * };
 */
export interface OpenApiSecurity {
  /** The schemes, by the name `components.securitySchemes` gives them. */
  schemes: Record<string, SecuritySchemeObject>;
  /**
   * The alternatives that pass (OpenAPI's `security` array: any one of them; inside one, all of
   * its schemes), each scheme with its scopes. Default: one alternative that names every scheme
   * of `schemes` with no scopes. `[{}]` plus others marks the authentication as optional.
   */
  requirements?: Record<string, string[]>[];
}

/** One response of a route: a schema (its JSON body), a description, or both and more. */
export type ResponseDescription =
  | StandardSchemaV1
  | string
  | {
      description?: string;
      /** The body's schema; none for a response without a body. */
      schema?: StandardSchemaV1;
      /** Default `application/json`. */
      contentType?: string;
      /** Response headers, by name: a description each. */
      headers?: Record<string, string>;
    };

/** What `describeRoute()` says about a route. */
export interface RouteDescription {
  summary?: string;
  description?: string;
  tags?: string[];
  /** Unique across the document (the generator checks). */
  operationId?: string;
  deprecated?: boolean;
  /** Leave the route out of the document. */
  hidden?: boolean;
  /** Responses by status (`200`, `404`, `'4XX'`, `'default'`). */
  responses?: Record<number | string, ResponseDescription>;
  /** The media types the body may come in. Default `['application/json']`. */
  bodyTypes?: string[];
  /** Overrides the security of the route's middleware: `[]` for a public route under an auth prefix. */
  security?: Record<string, string[]>[];
}

/** The schemas `validate()` checks, as its middleware exposes them. */
export interface ValidatedParts {
  body?: StandardSchemaV1;
  query?: StandardSchemaV1;
  params?: StandardSchemaV1;
  headers?: StandardSchemaV1;
  cookies?: StandardSchemaV1;
  response?: StandardSchemaV1;
}

/**
 * The value under `OPENAPI` on a middleware function. Each field is read by the generator from
 * every function of a route's chain (app-wide and prefix middleware included), in order.
 */
export interface OpenApiMarker {
  /** An authentication middleware: the schemes it enforces. */
  readonly security?: OpenApiSecurity;
  /** `describeRoute()`: the route's metadata. */
  readonly describe?: RouteDescription;
  /** `validate()`: the schemas of the request's parts and of the response. */
  readonly validate?: ValidatedParts;
}

/**
 * Puts an OpenAPI marker on a middleware and returns the same function: how an authentication
 * middleware shows up in the document.
 *
 * @example
 * const requireKey = withOpenApi(
 *   async (c: Context, next: Next) => {
 *     if (c.req.headers.get('x-api-key') !== KEY) return c.json({ error: 'unauthorized' }, 401);
 *     return next();
 *   },
 *   { security: { schemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } } } },
 * );
 */
export function withOpenApi<F extends (...args: never[]) => unknown>(fn: F, marker: OpenApiMarker): F {
  Object.defineProperty(fn, OPENAPI, { value: marker, enumerable: false, configurable: true });
  return fn;
}

/** The marker of a function, or undefined. */
export function markerOf(fn: unknown): OpenApiMarker | undefined {
  if (typeof fn !== 'function') return undefined;
  const marker = (fn as { [OPENAPI]?: unknown })[OPENAPI];
  return typeof marker === 'object' && marker !== null ? (marker as OpenApiMarker) : undefined;
}
