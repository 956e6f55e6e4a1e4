/**
 * The OpenAPI 3.1 document of an app, built from its routes: the path patterns, the schemas of
 * `validate()`, the metadata of `describeRoute()` and the security markers of auth middleware.
 */
import type { RouteEntry } from '../app.ts';
import { AppError } from '../errors.ts';
import { parseRoutePath } from '../router/route-path.ts';
import type { StandardSchemaV1 } from '../standard-schema.ts';
import { type JsonSchema, type JsonSchemaAdapter, SchemaConverter } from './json-schema.ts';
import {
  markerOf,
  type OpenApiSecurity,
  type ResponseDescription,
  type RouteDescription,
  type SecuritySchemeObject,
  type ValidatedParts,
} from './marker.ts';
import type {
  OpenApiDocument,
  OpenApiInfo,
  OpenApiOperation,
  OpenApiParameter,
  OpenApiResponse,
  OpenApiServer,
} from './types.ts';

/** What the document says about the API as a whole. */
export interface OpenApiDocumentOptions {
  info: OpenApiInfo;
  servers?: OpenApiServer[];
  /** Tag descriptions, in the order the docs page lists them. */
  tags?: { name: string; description?: string }[];
  /** Converts schemas without Standard JSON Schema (see `JsonSchemaAdapter`). */
  jsonSchema?: JsonSchemaAdapter;
  /** Passed to every Standard JSON Schema converter (zod: `{ unrepresentable: 'any' }`). */
  libraryOptions?: Record<string, unknown>;
}

/** Anything that lists its routes: an `App`. */
export interface RouteSource {
  routes(): RouteEntry[];
}

/** OpenAPI 3.1 Path Item fields that are operations (§4.8.9); other methods are left out. */
const OPERATIONS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** Header parameters OpenAPI ignores (§4.8.12.1): the spec's own fields describe them. */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

const REASONS: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted',
  '204': 'No Content',
  '301': 'Moved Permanently',
  '302': 'Found',
  '304': 'Not Modified',
  '400': 'Bad Request',
  '401': 'Unauthorized',
  '403': 'Forbidden',
  '404': 'Not Found',
  '409': 'Conflict',
  '422': 'Unprocessable Content',
  '429': 'Too Many Requests',
  '500': 'Internal Server Error',
  '503': 'Service Unavailable',
};

/** RFC 9457 problem details, with the `issues` that `validate()` adds. */
const VALIDATION_PROBLEM: JsonSchema = {
  type: 'object',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    issues: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          in: { enum: ['body', 'query', 'params', 'headers', 'cookies'] },
          path: { type: 'string' },
          message: { type: 'string' },
        },
        required: ['in', 'path', 'message'],
      },
    },
  },
  required: ['type', 'title', 'status'],
};

/** What the chain of one route says about it, its markers merged in chain order. */
interface RouteFacts {
  describe: RouteDescription;
  responses: Record<string, ResponseDescription>;
  validate: ValidatedParts;
  validated: boolean;
  security: OpenApiSecurity[];
}

/**
 * Builds the OpenAPI 3.1 document of an app. `openapi(app, …)` calls it once and serves the
 * result; call it yourself to write the document to a file at build time.
 *
 * @example
 * const doc = generateOpenApi(app, { info: { title: 'Shop', version: '1.0.0' } });
 * await writeFile('openapi.json', JSON.stringify(doc, null, 2));
 */
export function generateOpenApi(app: RouteSource, options: OpenApiDocumentOptions): OpenApiDocument {
  const converter = new SchemaConverter(options.jsonSchema, options.libraryOptions);
  const securitySchemes: Record<string, SecuritySchemeObject> = {};
  const operationIds = new Map<string, string>();
  const paths: Record<string, Record<string, OpenApiOperation>> = {};
  let usesProblem = false;

  for (const route of app.routes()) {
    const method = route.method.toLowerCase();
    if (!OPERATIONS.has(method)) continue;
    const facts = factsOf(route);
    if (facts.describe.hidden === true) continue;
    const where = `${route.method} ${route.path}`;
    for (const sec of facts.security) addSchemes(securitySchemes, sec, where);

    const operation: OpenApiOperation = {};
    const d = facts.describe;
    if (d.operationId !== undefined) {
      const other = operationIds.get(d.operationId);
      if (other !== undefined) {
        throw new AppError(
          'STRATA_ERR_OPENAPI_OPERATION',
          `${where}: the operationId "${d.operationId}" is also that of ${other}; give each route its own`,
        );
      }
      operationIds.set(d.operationId, where);
      operation.operationId = d.operationId;
    }
    if (d.summary !== undefined) operation.summary = d.summary;
    if (d.description !== undefined) operation.description = d.description;
    if (d.tags !== undefined && d.tags.length > 0) operation.tags = [...d.tags];
    if (d.deprecated === true) operation.deprecated = true;

    const name = componentBase(d.operationId ?? `${method} ${route.path}`);
    const v = facts.validate;
    const common: OpenApiParameter[] = [];
    for (const part of ['query', 'headers', 'cookies'] as const) {
      const schema = v[part];
      if (schema !== undefined)
        common.push(
          ...partParameters(converter.convert(schema, 'input', `${where} ${part}`, `${name}_${part}`), part),
        );
    }
    if (v.body !== undefined) {
      const schema = converter.convert(v.body, 'input', `${where} body`, `${name}_body`);
      const content: Record<string, { schema: JsonSchema }> = {};
      for (const type of d.bodyTypes ?? ['application/json']) content[type] = { schema };
      operation.requestBody = { required: true, content };
    }
    const responses = responsesOf(facts, converter, where, name);
    if (facts.validated && responses['400'] === undefined) {
      usesProblem = true;
      responses['400'] = {
        description: 'The request failed validation',
        content: {
          'application/problem+json': { schema: { $ref: '#/components/schemas/ValidationProblem' } },
        },
      };
    }
    if (Object.keys(responses).length > 0) operation.responses = sortByKey(responses);
    const security = d.security ?? requirementsOf(facts.security);
    if (security !== undefined) operation.security = security;

    const paramsSchema =
      v.params === undefined
        ? undefined
        : converter.convert(v.params, 'input', `${where} params`, `${name}_params`);
    for (const variant of pathVariants(route.path)) {
      const parameters = [...variant.params.map((p) => pathParameter(p, paramsSchema)), ...common];
      const { requestBody, responses: answers, security: requirements, ...head } = operation;
      const op: OpenApiOperation = { ...head };
      if (parameters.length > 0) op.parameters = parameters;
      if (requestBody !== undefined) op.requestBody = requestBody;
      if (answers !== undefined) op.responses = answers;
      if (requirements !== undefined) op.security = requirements;
      paths[variant.template] ??= {};
      const item = paths[variant.template]!;
      // Two routes with one template (`/a/:x{\d+}` and `/a/:y{[a-z]+}`): OpenAPI holds one.
      if (item[method] === undefined) item[method] = op;
    }
  }

  const doc: OpenApiDocument = {
    openapi: '3.1.1',
    info: options.info,
    ...(options.servers !== undefined && options.servers.length > 0 ? { servers: options.servers } : {}),
    ...(options.tags !== undefined && options.tags.length > 0 ? { tags: options.tags } : {}),
    paths,
  };
  const schemas = converter.components;
  if (usesProblem) schemas.ValidationProblem ??= VALIDATION_PROBLEM;
  const components: NonNullable<OpenApiDocument['components']> = {};
  if (Object.keys(schemas).length > 0) components.schemas = sortByKey(schemas);
  if (Object.keys(securitySchemes).length > 0) components.securitySchemes = sortByKey(securitySchemes);
  if (components.schemas !== undefined || components.securitySchemes !== undefined)
    doc.components = components;
  return doc;
}

function factsOf(route: RouteEntry): RouteFacts {
  const facts: RouteFacts = { describe: {}, responses: {}, validate: {}, validated: false, security: [] };
  for (const fn of route.chain) {
    const marker = markerOf(fn);
    if (marker === undefined) continue;
    if (marker.describe !== undefined) {
      // Later describeRoute() calls refine earlier ones (a prefix's tags, then a route's summary).
      const { responses, ...rest } = marker.describe;
      facts.describe = { ...facts.describe, ...rest };
      if (responses !== undefined) Object.assign(facts.responses, responses);
    }
    if (marker.validate !== undefined) {
      facts.validate = { ...facts.validate, ...marker.validate };
      const { response: _response, ...request } = marker.validate;
      if (Object.values(request).some((s) => s !== undefined)) facts.validated = true;
    }
    if (marker.security !== undefined) facts.security.push(marker.security);
  }
  return facts;
}

function addSchemes(into: Record<string, SecuritySchemeObject>, sec: OpenApiSecurity, where: string): void {
  for (const [name, scheme] of Object.entries(sec.schemes)) {
    const had = into[name];
    if (had !== undefined && JSON.stringify(had) !== JSON.stringify(scheme)) {
      throw new AppError(
        'STRATA_ERR_OPENAPI_OPERATION',
        `${where}: two middleware define the security scheme "${name}" differently; give them different names`,
      );
    }
    into[name] = scheme;
  }
}

/**
 * Several auth middleware on one route must all pass: the product of their alternatives, each
 * combination merged into one requirement.
 */
function requirementsOf(markers: OpenApiSecurity[]): Record<string, string[]>[] | undefined {
  if (markers.length === 0) return undefined;
  let out: Record<string, string[]>[] = [{}];
  for (const m of markers) {
    const alternatives = m.requirements ?? [Object.fromEntries(Object.keys(m.schemes).map((k) => [k, []]))];
    const next: Record<string, string[]>[] = [];
    for (const left of out) {
      for (const right of alternatives) {
        const merged: Record<string, string[]> = { ...left };
        for (const [k, scopes] of Object.entries(right))
          merged[k] = [...new Set([...(merged[k] ?? []), ...scopes])];
        next.push(merged);
      }
    }
    out = next;
  }
  return out;
}

function responsesOf(
  facts: RouteFacts,
  converter: SchemaConverter,
  where: string,
  name: string,
): Record<string, OpenApiResponse> {
  const out: Record<string, OpenApiResponse> = {};
  let responseSchema = facts.validate.response;
  const entries = Object.entries(facts.responses);
  // validate({ response }) describes the success answer: the first 2xx without a schema, else 200.
  if (responseSchema !== undefined && !entries.some(([status]) => status.startsWith('2'))) {
    entries.push(['200', responseSchema]);
    responseSchema = undefined;
  }
  for (const [status, spec] of entries) {
    if (!/^([1-5](\d\d|XX)|default)$/.test(status)) {
      throw new AppError(
        'STRATA_ERR_OPENAPI_OPERATION',
        `${where}: "${status}" is not a response status (write 200, '4XX' or 'default')`,
      );
    }
    const r: OpenApiResponse = { description: REASONS[status] ?? 'Response' };
    let schema: StandardSchemaV1 | undefined;
    let contentType = 'application/json';
    let namedType = false;
    if (typeof spec === 'string') r.description = spec;
    else if (isSchema(spec)) schema = spec;
    else {
      if (spec.description !== undefined) r.description = spec.description;
      schema = spec.schema;
      if (spec.contentType !== undefined) {
        contentType = spec.contentType;
        namedType = true;
      }
      if (spec.headers !== undefined) {
        r.headers = {};
        for (const [h, description] of Object.entries(spec.headers))
          r.headers[h] = { description, schema: { type: 'string' } };
      }
    }
    if (schema === undefined && responseSchema !== undefined && status.startsWith('2')) {
      schema = responseSchema;
      responseSchema = undefined;
    }
    if (schema !== undefined) {
      r.content = {
        [contentType]: {
          schema: converter.convert(schema, 'output', `${where} response ${status}`, `${name}_${status}`),
        },
      };
    } else if (namedType) {
      // A media type with no schema (an SSE stream, a file): OpenAPI allows an empty Media Type Object.
      r.content = { [contentType]: {} };
    }
    out[status] = r;
  }
  return out;
}

function isSchema(value: unknown): value is StandardSchemaV1 {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { '~standard'?: unknown })['~standard'] === 'object'
  );
}

/** Query, header or cookie parameters: one per property of the part's object schema. */
function partParameters(schema: JsonSchema, part: 'query' | 'headers' | 'cookies'): OpenApiParameter[] {
  const where = part === 'query' ? 'query' : part === 'headers' ? 'header' : 'cookie';
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (typeof properties !== 'object' || properties === null) {
    // Not an object with named keys (a record, a union): free-form query parameters (§4.8.12.4).
    return part === 'query' ? [{ name: 'query', in: 'query', style: 'form', explode: true, schema }] : [];
  }
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  const out: OpenApiParameter[] = [];
  for (const [name, property] of Object.entries(properties)) {
    if (where === 'header' && IGNORED_HEADERS.has(name.toLowerCase())) continue;
    const p: OpenApiParameter = { name, in: where, schema: property };
    if (required.has(name)) p.required = true;
    if (typeof property.description === 'string') p.description = property.description;
    if (property.deprecated === true) p.deprecated = true;
    out.push(p);
  }
  return out;
}

interface PathParam {
  name: string;
  pattern: string | undefined;
  wildcard: boolean;
}

/**
 * The OpenAPI templates of a route path: `/users/:id{\d+}` → `/users/{id}`. A path param is
 * always required in OpenAPI (§4.8.12.2), so an optional last param gives two templates.
 */
function pathVariants(path: string): { template: string; params: PathParam[] }[] {
  const parsed = parseRoutePath(path);
  let template = '';
  const params: PathParam[] = [];
  let beforeLast = '';
  for (const piece of parsed.pieces) {
    if (piece.kind === 'static') template += piece.text;
    else {
      beforeLast = template;
      const name = piece.kind === 'param' ? piece.name : '*';
      template += `{${name}}`;
      params.push({
        name,
        pattern: piece.kind === 'param' ? piece.pattern : undefined,
        wildcard: piece.kind === 'wildcard',
      });
    }
  }
  const full = { template, params };
  if (!parsed.optional) return [full];
  const short = beforeLast.length > 1 && beforeLast.endsWith('/') ? beforeLast.slice(0, -1) : beforeLast;
  return [{ template: short, params: params.slice(0, -1) }, full];
}

function pathParameter(param: PathParam, paramsSchema: JsonSchema | undefined): OpenApiParameter {
  const properties = paramsSchema?.properties as Record<string, JsonSchema> | undefined;
  const fromSchema = properties?.[param.name];
  const schema: JsonSchema = fromSchema !== undefined ? { ...fromSchema } : { type: 'string' };
  // The router matches the pattern against the whole segment.
  if (param.pattern !== undefined && schema.pattern === undefined && (schema.type ?? 'string') === 'string')
    schema.pattern = `^(?:${param.pattern})$`;
  const p: OpenApiParameter = { name: param.name, in: 'path', required: true, schema };
  if (param.wildcard) p.description = 'The rest of the path; it may contain "/"';
  else if (typeof schema.description === 'string') p.description = schema.description;
  return p;
}

function componentBase(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'Schema';
}

function sortByKey<T>(record: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(record).sort()) out[k] = record[k]!;
  return out;
}
