import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  App,
  accessRule,
  basicAuth,
  can,
  createMiddleware,
  definePolicy,
  jwt,
  publicRoute,
  requireOwner,
  requirePermission,
  requireRole,
} from '../../../src/index.ts';

interface User {
  id: string;
  role?: string;
  roles?: string[];
}
const users: Record<string, User> = {
  admin: { id: 'admin', role: 'admin' },
  ed: { id: 'ed', roles: ['editor', 'reader'] },
  reader: { id: 'reader', roles: ['reader'] },
};
/** A stand-in auth middleware: the user named by `x-user`. */
const auth = accessRule(
  createMiddleware<{ user: User }>(async (c, next) => {
    const user = users[c.req.headers.get('x-user') ?? ''];
    if (user !== undefined) c.set('user', user);
    return next();
  }),
);
const as = (name?: string) => (name === undefined ? {} : { headers: { 'x-user': name } });

describe('guards', () => {
  test('requireRole: 401 without a user, 403 without the role, through with any listed role', async () => {
    const app = new App({ log: false });
    app.get('/', auth, requireRole('admin', 'editor'), (c) => c.text(c.get('user').id));
    assert.equal((await app.request('/', as())).status, 401);
    assert.equal((await app.request('/', as('reader'))).status, 403);
    assert.equal(await (await app.request('/', as('admin'))).text(), 'admin');
    assert.equal(await (await app.request('/', as('ed'))).text(), 'ed');
    const forbidden = await app.request('/', as('reader'));
    assert.equal(forbidden.headers.get('content-type'), 'application/problem+json');
  });

  test('requireRole with rolesOf', async () => {
    const app = new App({ log: false });
    app.get(
      '/',
      auth,
      requireRole('root', { rolesOf: (u) => ((u as User).id === 'ed' ? ['root'] : []) }),
      (c) => c.text('ok'),
    );
    assert.equal((await app.request('/', as('ed'))).status, 200);
    assert.equal((await app.request('/', as('admin'))).status, 403);
  });

  test('policies: definePolicy, can(), requirePermission with a resource loader', async () => {
    interface Post {
      id: string;
      authorId: string;
    }
    const posts = new Map<string, Post>([['p1', { id: 'p1', authorId: 'ed' }]]);
    const policy = definePolicy('test-post', {
      read: () => true,
      update: (user: User, post: Post) => post.authorId === user.id || user.role === 'admin',
    });
    assert.equal(await policy.can(users.ed!, 'update', posts.get('p1')!), true);
    assert.equal(await can(users.reader, 'test-post:update', posts.get('p1')), false);
    assert.equal(await can(undefined, 'test-post:read'), false);
    assert.equal(
      await can(users.admin, 'test-post:delete', posts.get('p1')),
      false,
      'unknown action: denied',
    );
    assert.equal(await can(users.admin, 'nope:read'), false, 'unknown policy: denied');
    const app = new App({ log: false });
    app.put(
      '/posts/:id',
      auth,
      requirePermission('test-post:update', { resource: (c) => posts.get(c.params.id!) }),
      (c) => c.json(c.get('resource')),
    );
    assert.equal((await app.request('/posts/p1', { method: 'PUT', ...as('ed') })).status, 200);
    assert.equal((await app.request('/posts/p1', { method: 'PUT', ...as('admin') })).status, 200);
    assert.equal((await app.request('/posts/p1', { method: 'PUT', ...as('reader') })).status, 403);
    assert.equal((await app.request('/posts/p9', { method: 'PUT', ...as('ed') })).status, 404);
    assert.equal((await app.request('/posts/p1', { method: 'PUT' })).status, 401);
  });

  test('policy mistakes are STRATA_ERR_POLICY at definition', () => {
    const code = (e: Error & { code?: string }) => e.code === 'STRATA_ERR_POLICY';
    definePolicy('test-dup', { read: () => true });
    assert.throws(() => definePolicy('test-dup', { read: () => true }), code);
    assert.throws(() => requirePermission('test-dup:write'), code);
    assert.throws(() => requirePermission('missing:read'), code);
    assert.throws(() => definePolicy('test-bad', { read: 'yes' as never }), code);
  });

  test('a rule that returns a truthy non-true value does not allow', async () => {
    definePolicy('test-truthy', { read: () => 'yes' as never });
    assert.equal(await can(users.admin, 'test-truthy:read'), false);
  });

  test('requireOwner: owner through, others 403 (or 404 with hide), admin bypass, missing 404', async () => {
    const notes = new Map([['n1', { id: 'n1', ownerId: 'ed' }]]);
    const load = (c: { params: Record<string, string> }) => notes.get(c.params.id!);
    const app = new App({ log: false });
    app.get(
      '/notes/:id',
      auth,
      requireOwner(load, (n) => n.ownerId, { bypass: (u) => (u as User).role === 'admin' }),
      (c) => c.json(c.get('resource')),
    );
    app.get(
      '/hidden/:id',
      auth,
      requireOwner(load, (n) => n.ownerId, { hide: true }),
      (c) => c.text('ok'),
    );
    assert.equal((await app.request('/notes/n1', as('ed'))).status, 200);
    assert.equal((await app.request('/notes/n1', as('reader'))).status, 403);
    assert.equal((await app.request('/notes/n1', as('admin'))).status, 200);
    assert.equal((await app.request('/notes/n2', as('ed'))).status, 404);
    assert.equal((await app.request('/notes/n1', as())).status, 401);
    assert.equal((await app.request('/hidden/n1', as('reader'))).status, 404);
  });

  test('requireOwner: a missing owner or user id never matches (undefined === undefined is not ownership)', async () => {
    const app = new App({ log: false });
    app.get(
      '/',
      auth,
      requireOwner(
        () => ({ title: 'orphan' }),
        (r) => (r as { ownerId?: string }).ownerId,
        {
          userId: () => undefined,
        },
      ),
      (c) => c.text('ok'),
    );
    assert.equal((await app.request('/', as('ed'))).status, 403);
  });
});

describe("access: 'deny-by-default'", () => {
  const code = (e: Error & { code?: string }) => e.code === 'STRATA_ERR_NO_ACCESS_RULE';
  const SECRET = 'a-secret-of-at-least-thirty-two-bytes!';

  test('a route without an access rule refuses to register; with one, or publicRoute(), it registers', () => {
    const app = new App({ access: 'deny-by-default' });
    assert.throws(() => app.get('/open', (c) => c.text('x')), code);
    assert.throws(
      () =>
        app.post(
          '/plain',
          createMiddleware(async (_c, next) => next()),
          (c) => c.text('x'),
        ),
      code,
    );
    app.get('/health', publicRoute(), (c) => c.text('ok'));
    app.get('/me', jwt({ secret: SECRET }), (c) => c.text('me'));
    app.get('/admin', auth, requireRole('admin'), (c) => c.text('admin'));
    app.get('/basic', basicAuth({ users: { a: 'b' } }), (c) => c.text('b'));
    assert.throws(
      () => app.get('/optional', jwt({ secret: SECRET, optional: true }), (c) => c.text('x')),
      code,
    );
  });

  test('app.use() with a rule covers the routes under its prefix registered after it', async () => {
    const app = new App({ access: 'deny-by-default', log: false });
    app.use('/api', jwt({ secret: SECRET }));
    app.get('/api/items', (c) => c.text('items'));
    assert.throws(() => app.get('/apiary', (c) => c.text('x')), code);
    assert.equal((await app.request('/api/items')).status, 401);
  });

  test('a refused route leaves the app unchanged (the path stays free)', async () => {
    const app = new App({ access: 'deny-by-default', log: false });
    assert.throws(() => app.get('/x', (c) => c.text('x')), code);
    app.get('/x', publicRoute(), (c) => c.text('public'));
    assert.equal(await (await app.request('/x')).text(), 'public');
  });

  test("mounted apps are checked: their routes, with their own and the parent's middleware", () => {
    const root = new App({ access: 'deny-by-default' });
    const open = new App();
    open.get('/a', (c) => c.text('a'));
    assert.throws(() => root.route('/open', open), code);
    const guarded = new App();
    guarded.use(auth);
    guarded.get('/a', (c) => c.text('a'));
    root.route('/guarded', guarded);
    // A route added to the mounted app later is checked against the root's mode too.
    const later = new App();
    root.route('/later', later);
    assert.throws(() => later.get('/b', (c) => c.text('b')), code);
    later.get('/c', publicRoute(), (c) => c.text('c'));
    const underRule = new App();
    root.use('/ruled', auth);
    root.route('/ruled', underRule);
    underRule.get('/d', (c) => c.text('d'));
  });

  test('the default mode registers anything', () => {
    const app = new App();
    app.get('/open', (c) => c.text('x'));
  });
});
