import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import * as v from 'valibot';
import { z } from 'zod';
import { relativeUrl } from '../../src/app/openapi/openapi.ts';
import {
  App,
  type Context,
  describeRoute,
  generateOpenApi,
  type JsonSchemaAdapter,
  type Next,
  OPENAPI,
  type OpenApiDocument,
  type OpenApiOperation,
  type OpenApiSecurity,
  openapi,
  validate,
  withOpenApi,
} from '../../src/index.ts';
import { serve } from '../../src/server.ts';

const INFO = { title: 'Shop <API>', version: '1.2.3' };
const UI_DIR = join(import.meta.dirname, '..', '..', 'node_modules', 'swagger-ui-dist');
const UI_VERSION = (JSON.parse(readFileSync(join(UI_DIR, 'package.json'), 'utf8')) as { version: string })
  .version;

/** A fake auth middleware that declares its scheme the way jwt()/apiKey() will. */
function fakeAuth(security: OpenApiSecurity): (c: Context, next: Next) => Promise<Response> {
  return withOpenApi(async (_c: Context, next: Next) => next(), { security });
}

const bearer = fakeAuth({ schemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } });
const adminKey = fakeAuth({
  schemes: {
    adminKey: { type: 'apiKey', in: 'header', name: 'x-admin-key' },
    oauth: {
      type: 'oauth2',
      flows: {
        clientCredentials: { tokenUrl: 'https://auth.example.com/token', scopes: { admin: 'all of it' } },
      },
    },
  },
  requirements: [{ adminKey: [] }, { oauth: ['admin'] }],
});
// A library that does not import strata: the registered symbol, written by hand.
const rawMarked = Object.assign(async (_c: Context, next: Next) => next(), {
  [Symbol.for('strata.openapi')]: {
    security: { schemes: { sessionCookie: { type: 'apiKey', in: 'cookie', name: 'sid' } } },
  },
});

const Address = z.object({ city: z.string(), zip: z.string().regex(/^\d{5}$/) }).meta({ id: 'Address' });
const User = z.object({ id: z.string(), name: z.string().min(1), home: Address.optional() });
const NewUser = z.object({ name: z.string().min(1), email: z.email(), home: Address.optional() });
interface Category {
  name: string;
  children: Category[];
}
const CategorySchema: z.ZodType<Category> = z.object({
  name: z.string(),
  get children() {
    return z.array(CategorySchema);
  },
});

/** An app with most route shapes: patterns, optional params, wildcards, mounts, every part validated. */
function shop(): App {
  const app = new App({ log: false });
  app.get(
    '/users/:id{\\d+}',
    describeRoute({
      summary: 'One user',
      tags: ['users'],
      operationId: 'getUser',
      responses: { 200: User, 404: 'No such user' },
    }),
    (c) => c.json({ id: c.params.id, name: 'Ada' }),
  );
  app.get(
    '/users',
    describeRoute({ summary: 'List users', tags: ['users'] }),
    validate({
      query: z.object({
        page: z.coerce.number().int().positive().optional(),
        tag: z.array(z.string()).optional(),
      }),
      response: z.array(User),
    }),
    () => [],
  );
  app.post(
    '/users',
    bearer,
    describeRoute({
      operationId: 'createUser',
      responses: { 201: { description: 'Created', schema: User, headers: { location: 'The new user' } } },
    }),
    validate({
      body: NewUser,
      headers: z.object({ 'x-request-id': z.string().optional(), accept: z.string() }),
    }),
    (c) => c.json({ id: '1', name: c.body.name }, 201),
  );
  app.put(
    '/users/:id',
    bearer,
    validate({ params: z.object({ id: z.string().uuid() }), body: NewUser }),
    () => ({}),
  );
  app.delete(
    '/users/:id',
    bearer,
    describeRoute({ deprecated: true, responses: { 204: 'Gone' } }),
    () => new Response(null, { status: 204 }),
  );
  app.get('/files/*', describeRoute({ summary: 'A file' }), (c) => c.text(c.params['*']));
  app.get('/posts/:slug/:page?', (c) => c.text(c.params.slug));
  app.get('/categories', describeRoute({ responses: { 200: CategorySchema } }), () => ({
    name: 'root',
    children: [],
  }));
  app.post(
    '/upload',
    describeRoute({ bodyTypes: ['multipart/form-data'] }),
    validate({ body: z.object({ title: z.string() }), cookies: z.object({ sid: z.string() }) }),
    () => 'ok',
  );
  app.get('/internal/health', describeRoute({ hidden: true }), () => 'ok');
  app.on('PURGE', '/cache', () => 'purged');

  const admin = new App({ log: false });
  admin.use(describeRoute({ tags: ['admin'] }));
  admin.get('/stats', describeRoute({ summary: 'Stats' }), () => ({}));
  admin.get('/public', describeRoute({ security: [] }), () => ({}));
  const reports = new App({ log: false });
  reports.use(rawMarked);
  reports.get('/:year{\\d{4}}', describeRoute({ operationId: 'report' }), (c) => c.text(c.params.year));
  admin.route('/reports', reports);
  app.use('/admin', adminKey);
  app.route('/admin', admin);
  return app;
}

function op(doc: OpenApiDocument, path: string, method: string): OpenApiOperation {
  const item = doc.paths[path];
  assert.ok(item !== undefined, `the document has ${path} (it has ${Object.keys(doc.paths).join(', ')})`);
  const operation = item[method];
  assert.ok(operation !== undefined, `${path} has ${method}`);
  return operation;
}

async function assertValid(doc: OpenApiDocument): Promise<void> {
  const result = await new Validator().validate(doc as never);
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
}

describe('generateOpenApi(): the document from the routes', () => {
  const doc = generateOpenApi(shop(), { info: INFO, servers: [{ url: 'https://api.example.com' }] });

  test('the OpenAPI validator accepts it (3.1 schema, refs resolved)', async () => {
    assert.equal(doc.openapi, '3.1.1');
    assert.deepEqual(doc.info, INFO);
    await assertValid(doc);
  });

  test('path params come from the pattern: a template, typed string, the regex as an anchored pattern', () => {
    const get = op(doc, '/users/{id}', 'get');
    assert.deepEqual(get.parameters, [
      { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^(?:\\d+)$' } },
    ]);
    assert.equal(get.operationId, 'getUser');
    assert.deepEqual(get.tags, ['users']);
    assert.equal(new RegExp(get.parameters![0]!.schema.pattern as string).test('42'), true);
    assert.equal(new RegExp(get.parameters![0]!.schema.pattern as string).test('4a'), false);
  });

  test('a params schema refines the path param (uuid), and the route pattern is kept when the schema has none', () => {
    const put = op(doc, '/users/{id}', 'put');
    const id = put.parameters!.find((p) => p.name === 'id')!;
    assert.equal(id.in, 'path');
    assert.equal(id.required, true);
    assert.equal(id.schema.format, 'uuid');
    const report = op(doc, '/admin/reports/{year}', 'get');
    assert.equal(report.parameters![0]!.schema.pattern, '^(?:\\d{4})$');
  });

  test('query parameters: one per property, required as the schema says, arrays as repeated keys', () => {
    const list = op(doc, '/users', 'get');
    const byName = Object.fromEntries(list.parameters!.map((p) => [p.name, p]));
    assert.equal(byName.page!.in, 'query');
    assert.equal(byName.page!.required, undefined);
    assert.equal(byName.page!.schema.type, 'integer');
    assert.equal(byName.tag!.schema.type, 'array');
  });

  test('headers and cookies become parameters; Accept, Content-Type and Authorization are left to OpenAPI', () => {
    const create = op(doc, '/users', 'post');
    assert.deepEqual(
      create.parameters!.map((p) => [p.in, p.name]),
      [['header', 'x-request-id']],
    );
    const upload = op(doc, '/upload', 'post');
    assert.deepEqual(upload.parameters, [
      { name: 'sid', in: 'cookie', required: true, schema: { type: 'string' } },
    ]);
  });

  test('the body: JSON by default, the media types describeRoute() names otherwise', () => {
    const create = op(doc, '/users', 'post');
    assert.equal(create.requestBody!.required, true);
    assert.deepEqual(Object.keys(create.requestBody!.content), ['application/json']);
    const body = create.requestBody!.content['application/json']!.schema!;
    assert.deepEqual(body.required, ['name', 'email']);
    assert.equal((body.properties as Record<string, { format?: string }>).email!.format, 'email');
    assert.deepEqual(Object.keys(op(doc, '/upload', 'post').requestBody!.content), ['multipart/form-data']);
  });

  test('responses: schemas as JSON, strings as descriptions, headers; validate() adds its 400', () => {
    const get = op(doc, '/users/{id}', 'get');
    assert.deepEqual(Object.keys(get.responses!), ['200', '404']);
    assert.equal(get.responses!['404']!.description, 'No such user');
    assert.equal(get.responses!['404']!.content, undefined);
    assert.equal(get.responses!['200']!.content!['application/json']!.schema!.type, 'object');
    const create = op(doc, '/users', 'post');
    assert.equal(create.responses!['201']!.description, 'Created');
    assert.deepEqual(Object.keys(create.responses!['201']!.headers!), ['location']);
    assert.deepEqual(create.responses!['400']!.content!['application/problem+json']!.schema, {
      $ref: '#/components/schemas/ValidationProblem',
    });
    assert.equal(get.responses!['400'], undefined, 'no validate(), no 400');
  });

  test('a response that names a media type without a schema keeps the media type (an SSE stream)', () => {
    const app = new App();
    app.get(
      '/events',
      describeRoute({ responses: { 200: { description: 'events', contentType: 'text/event-stream' } } }),
      (c) => c.text('data: x\n\n'),
    );
    const events = op(generateOpenApi(app, { info: { title: 't', version: '1' } }), '/events', 'get');
    assert.deepEqual(events.responses!['200'], {
      description: 'events',
      content: { 'text/event-stream': {} },
    });
  });

  test("validate({ response }) is the success answer's schema", () => {
    const list = op(doc, '/users', 'get');
    assert.equal(list.responses!['200']!.content!['application/json']!.schema!.type, 'array');
  });

  test('shared definitions ($defs) and self-references move to components.schemas', () => {
    const schemas = doc.components!.schemas!;
    assert.ok(schemas.Address !== undefined, Object.keys(schemas).join());
    const json = JSON.stringify(doc);
    assert.equal(json.includes('#/$defs/'), false, 'no $ref is left pointing at a schema-local $defs');
    assert.equal(json.includes('"$schema"'), false);
    const categories = op(doc, '/categories', 'get').responses!['200']!.content!['application/json']!.schema!;
    const ref = categories.$ref as string;
    assert.match(ref, /^#\/components\/schemas\//);
    const target = schemas[ref.split('/').at(-1)!]!;
    assert.deepEqual((target.properties as Record<string, { items: unknown }>).children!.items, {
      $ref: ref,
    });
  });

  test('wildcards and optional params: required path params only, so an optional one gives two paths', () => {
    const file = op(doc, '/files/{*}', 'get');
    assert.equal(file.parameters![0]!.name, '*');
    assert.equal(file.parameters![0]!.required, true);
    assert.deepEqual(
      op(doc, '/posts/{slug}', 'get').parameters!.map((p) => p.name),
      ['slug'],
    );
    assert.deepEqual(
      op(doc, '/posts/{slug}/{page}', 'get').parameters!.map((p) => p.name),
      ['slug', 'page'],
    );
  });

  test('mounts: full paths, prefix middleware and describeRoute() of the mounted app apply', () => {
    const stats = op(doc, '/admin/stats', 'get');
    assert.deepEqual(stats.tags, ['admin']);
    assert.equal(stats.summary, 'Stats');
    assert.deepEqual(stats.security, [{ adminKey: [] }, { oauth: ['admin'] }]);
    assert.deepEqual(
      op(doc, '/admin/public', 'get').security,
      [],
      'describeRoute({ security: [] }) makes it public',
    );
  });

  test('security: schemes from the markers, alternatives of one middleware, AND across middleware', () => {
    assert.deepEqual(Object.keys(doc.components!.securitySchemes!), [
      'adminKey',
      'bearerAuth',
      'oauth',
      'sessionCookie',
    ]);
    assert.deepEqual(op(doc, '/users', 'post').security, [{ bearerAuth: [] }]);
    assert.equal(op(doc, '/users', 'get').security, undefined);
    // Under /admin/reports both adminKey() (either of two) and the raw-marked cookie check apply.
    assert.deepEqual(op(doc, '/admin/reports/{year}', 'get').security, [
      { adminKey: [], sessionCookie: [] },
      { oauth: ['admin'], sessionCookie: [] },
    ]);
  });

  test('left out: hidden routes, methods OpenAPI 3.1 has no field for', () => {
    assert.equal(doc.paths['/internal/health'], undefined);
    assert.equal(doc.paths['/cache'], undefined);
    assert.equal(op(doc, '/users/{id}', 'delete').deprecated, true);
  });

  test('the marker is the registered symbol', () => {
    assert.equal(OPENAPI, Symbol.for('strata.openapi'));
  });
});

describe('generateOpenApi(): refusals and adapters', () => {
  const cases: [string, (app: App) => void, RegExp][] = [
    [
      'a schema without Standard JSON Schema (valibot)',
      (app) => app.post('/v', validate({ body: v.object({ a: v.string() }) }), () => 'x'),
      /POST \/v body: the valibot schema does not implement Standard JSON Schema/,
    ],
    [
      'a response with a transform',
      (app) =>
        app.get('/t', describeRoute({ responses: { 200: z.string().transform((s) => s.length) } }), () => 1),
      /GET \/t response 200: the schema cannot be written as JSON Schema/,
    ],
    [
      'a repeated operationId',
      (app) => {
        app.get('/a', describeRoute({ operationId: 'same' }), () => 'a');
        app.get('/b', describeRoute({ operationId: 'same' }), () => 'b');
      },
      /operationId "same" is also that of GET \/a/,
    ],
    [
      'one scheme name, two definitions',
      (app) => {
        app.get('/a', fakeAuth({ schemes: { auth: { type: 'http', scheme: 'basic' } } }), () => 'a');
        app.get('/b', fakeAuth({ schemes: { auth: { type: 'http', scheme: 'bearer' } } }), () => 'b');
      },
      /security scheme "auth"/,
    ],
    [
      'a response key that is no status',
      (app) => app.get('/r', describeRoute({ responses: { ok: 'x' } }), () => 'r'),
      /"ok"/,
    ],
  ];
  for (const [name, build, message] of cases) {
    test(`refused at generation: ${name}`, () => {
      const app = new App({ log: false });
      build(app);
      assert.throws(
        () => generateOpenApi(app, { info: INFO }),
        (err: Error & { code?: string }) => {
          assert.match(err.code ?? '', /^STRATA_ERR_OPENAPI_/);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  test('an adapter converts what the interface does not (valibot here); zod through the interface', async () => {
    const app = new App({ log: false });
    app.post(
      '/v',
      validate({ body: v.object({ a: v.string() }), query: z.object({ q: z.string() }) }),
      () => 'x',
    );
    const seen: string[] = [];
    const jsonSchema: JsonSchemaAdapter = (schema, io) => {
      seen.push(`${schema['~standard'].vendor}:${io}`);
      return schema['~standard'].vendor === 'valibot'
        ? { type: 'object', properties: { a: { type: 'string' } } }
        : undefined;
    };
    const doc = generateOpenApi(app, { info: INFO, jsonSchema });
    assert.deepEqual(seen.sort(), ['valibot:input', 'zod:input']);
    assert.deepEqual(op(doc, '/v', 'post').requestBody!.content['application/json']!.schema, {
      type: 'object',
      properties: { a: { type: 'string' } },
    });
    assert.equal(op(doc, '/v', 'post').parameters![0]!.name, 'q');
    await assertValid(doc);
  });

  test('the zod adapter of docs/openapi.md: z.toJSONSchema for zod, with the same io', () => {
    const app = new App({ log: false });
    app.post('/z', validate({ body: z.object({ n: z.coerce.number() }) }), () => 'x');
    const jsonSchema: JsonSchemaAdapter = (schema, io) =>
      schema['~standard'].vendor === 'zod' ? z.toJSONSchema(schema as z.ZodType, { io }) : undefined;
    const doc = generateOpenApi(app, { info: INFO, jsonSchema });
    const body = op(doc, '/z', 'post').requestBody!.content['application/json']!.schema!;
    assert.deepEqual(body.required, ['n']);
    assert.equal('$schema' in body, false);
  });

  test('libraryOptions reach the converter: zod writes an unrepresentable type as {}', () => {
    const app = new App({ log: false });
    app.get('/d', describeRoute({ responses: { 200: z.object({ at: z.date() }) } }), () => ({}));
    const doc = generateOpenApi(app, { info: INFO, libraryOptions: { unrepresentable: 'any' } });
    const schema = op(doc, '/d', 'get').responses!['200']!.content!['application/json']!.schema!;
    assert.deepEqual((schema.properties as Record<string, unknown>).at, {});
  });
});

describe('openapi(): the document and the docs page, served', () => {
  function served(mountAt?: string): { root: App; api: App; prefix: string } {
    const api = shop();
    openapi(api, { info: INFO });
    if (mountAt === undefined) return { root: api, api, prefix: '' };
    const root = new App({ log: false });
    root.route(mountAt, api);
    return { root, api, prefix: mountAt };
  }

  test('/openapi.json: the document as JSON, revalidated by ETag, not listed in itself', async () => {
    const { root } = served();
    const res = await root.request('/openapi.json');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const etag = res.headers.get('etag');
    assert.match(etag ?? '', /^"[\w-]+"$/);
    const doc = (await res.json()) as OpenApiDocument;
    await assertValid(doc);
    assert.equal(doc.paths['/openapi.json'], undefined);
    assert.equal(doc.paths['/docs'], undefined);
    assert.ok(doc.paths['/users/{id}'] !== undefined);

    for (const inm of [etag!, `W/${etag}`, `"other", ${etag}`, '*']) {
      const again = await root.request('/openapi.json', { headers: { 'if-none-match': inm } });
      assert.equal(again.status, 304, inm);
      assert.equal(again.headers.get('etag'), etag);
      assert.equal(await again.text(), '');
    }
    assert.equal(
      (await root.request('/openapi.json', { headers: { 'if-none-match': '"other"' } })).status,
      200,
    );
    assert.equal((await root.request('/openapi.json', { method: 'HEAD' })).status, 200);
  });

  test('generated once: at startup, then never per request', async () => {
    const app = new App({ log: false });
    app.post('/a', validate({ body: z.object({ a: z.string() }) }), () => 'a');
    let conversions = 0;
    openapi(app, {
      info: INFO,
      docs: false,
      jsonSchema: () => {
        conversions++;
        return undefined;
      },
    });
    await app.startup();
    assert.equal(conversions, 1, 'startup builds the document');
    for (let i = 0; i < 3; i++) assert.equal((await app.request('/openapi.json')).status, 200);
    assert.equal(conversions, 1, 'requests answer from the cached document');
  });

  test('a schema that cannot be described stops startup, before traffic', async () => {
    const app = new App({ log: false });
    app.post('/v', validate({ body: v.object({ a: v.string() }) }), () => 'x');
    openapi(app, { info: INFO, docs: false });
    await assert.rejects(app.startup(), { code: 'STRATA_ERR_OPENAPI_SCHEMA' });
  });

  for (const mountAt of [undefined, '/api/v1']) {
    test(`/docs${mountAt === undefined ? '' : ` mounted at ${mountAt}`}: HTML whose every URL is relative and served, with the right type`, async () => {
      const { root, prefix } = served(mountAt);
      const page = `${prefix}/docs`;
      const res = await root.request(page);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self';/);
      const html = await res.text();
      assert.match(html, /<title>Shop &#60;API&#62;<\/title>/, 'the title is escaped');
      assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]/, 'no inline script (CSP script-src self)');
      const refs = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)]
        .map((m) => m[1]!)
        .filter((r) => r !== 'data:,');
      assert.equal(refs.length, 3, refs.join());
      const types: Record<string, string> = {
        'swagger-ui.css': 'text/css; charset=utf-8',
        'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
        'init.js': 'text/javascript; charset=utf-8',
      };
      let init = '';
      for (const ref of refs) {
        assert.doesNotMatch(ref, /^(\w+:|\/\/)/, `${ref} is relative: no other host`);
        const url = new URL(ref, `http://localhost${page}`);
        assert.ok(url.pathname.startsWith(`${page}/`), url.pathname);
        const asset = await root.request(url.pathname + url.search);
        assert.equal(asset.status, 200, url.pathname);
        const file = url.pathname.slice(page.length + 1);
        assert.equal(asset.headers.get('content-type'), types[file], file);
        assert.equal(asset.headers.get('x-content-type-options'), 'nosniff');
        const body = await asset.text();
        if (file === 'init.js') init = body;
        else {
          assert.equal(url.searchParams.get('v'), UI_VERSION);
          assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
          assert.equal(body, readFileSync(join(UI_DIR, file), 'utf8'), `${file} is the package's file`);
        }
      }
      // The spec URL in init.js resolves, against the page, to the document.
      const specUrl = /url: ("[^"]*")/.exec(init)?.[1];
      assert.ok(specUrl !== undefined, init);
      const spec = new URL(JSON.parse(specUrl) as string, `http://localhost${page}`);
      assert.equal(spec.pathname, `${prefix}/openapi.json`);
      assert.equal((await root.request(spec.pathname)).status, 200);
      assert.match(init, /validatorUrl: null/, 'no call to the public validator');
    });
  }

  test('an asset asked for with another version is revalidated, not cached for a year', async () => {
    const { root } = served();
    const res = await root.request('/docs/swagger-ui.css?v=0.0.1');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    await res.arrayBuffer();
  });

  test('middleware guards the document and the page; docs: false serves no page', async () => {
    const app = new App({ log: false });
    app.get('/x', () => 'x');
    const guard = async (c: Context, next: Next) =>
      c.req.headers.get('x-key') === 'k' ? next() : c.text('no', 401);
    openapi(app, { info: INFO, path: '/spec.json', docs: false, middleware: [guard] });
    assert.equal((await app.request('/spec.json')).status, 401);
    assert.equal((await app.request('/spec.json', { headers: { 'x-key': 'k' } })).status, 200);
    assert.equal((await app.request('/docs')).status, 404);
  });

  test('paths are checked at registration', () => {
    for (const bad of [{ path: 'openapi.json' }, { docs: '/' }, { docs: '/docs/' }]) {
      assert.throws(() => openapi(new App({ log: false }), { info: INFO, ...bad }), {
        code: 'STRATA_ERR_ROUTE_PATH',
      });
    }
  });

  test("on strata's server the assets stream whole from the package", async () => {
    const app = shop();
    openapi(app, { info: INFO });
    const server = await serve(app, { port: 0, logger: false });
    try {
      const res = await fetch(`${server.url}/docs/swagger-ui-bundle.js?v=${UI_VERSION}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(body.length, readFileSync(join(UI_DIR, 'swagger-ui-bundle.js')).length);
      const doc = await fetch(`${server.url}/openapi.json`);
      assert.equal(doc.headers.get('content-type'), 'application/json');
      await assertValid((await doc.json()) as OpenApiDocument);
    } finally {
      await server.close();
    }
  });
});

test('relativeUrl(): from the page to the document, whatever the prefix', () => {
  const cases: [string, string, string][] = [
    ['/docs', '/openapi.json', './openapi.json'],
    ['/docs', '/docs/openapi.json', './docs/openapi.json'],
    ['/a/docs', '/openapi.json', '../openapi.json'],
    ['/a/b/docs', '/a/spec.json', '../spec.json'],
    ['/a/docs', '/a/b/spec.json', './b/spec.json'],
    ['/docs', '/x:y.json', './x:y.json'],
  ];
  for (const [from, to, expected] of cases) {
    assert.equal(relativeUrl(from, to), expected, `${from} → ${to}`);
    assert.equal(new URL(expected, `http://h/p${from}`).pathname, `/p${to}`);
  }
});
