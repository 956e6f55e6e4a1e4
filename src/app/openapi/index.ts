/** OpenAPI 3.1 for strata apps: the document from the routes, and a docs page. */
export { describeRoute } from './describe-route.ts';
export { generateOpenApi, type OpenApiDocumentOptions, type RouteSource } from './document.ts';
export type { JsonSchema, JsonSchemaAdapter } from './json-schema.ts';
export {
  OPENAPI,
  type OpenApiMarker,
  type OpenApiSecurity,
  type ResponseDescription,
  type RouteDescription,
  type SecuritySchemeObject,
  type ValidatedParts,
  withOpenApi,
} from './marker.ts';
export { type OpenApiOptions, openapi } from './openapi.ts';
export type {
  OpenApiDocument,
  OpenApiInfo,
  OpenApiOperation,
  OpenApiParameter,
  OpenApiResponse,
  OpenApiServer,
} from './types.ts';
