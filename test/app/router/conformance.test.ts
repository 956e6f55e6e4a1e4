/**
 * The router conformance table, in the manner of Hono's shared router suite: every router in
 * ROUTERS must pass every case unchanged, so a new router or an optimisation is one line here.
 * A case registers `routes` (each route's value is its own "METHOD path") and expects
 * `request` to find `expect`: a route and its params, `null` for no match, or MALFORMED.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type HttpRouter, MALFORMED, Router } from '../../../src/app/router/index.ts';

export const ROUTERS: { name: string; create: () => HttpRouter<string> }[] = [
  { name: 'Router', create: () => new Router<string>() },
];

interface RouterCase {
  name: string;
  routes: string[];
  request: [method: string, path: string];
  expect: { route: string; params: Record<string, string> } | null | typeof MALFORMED;
}

const r = (route: string, params: Record<string, string> = {}): RouterCase['expect'] => ({ route, params });

const CASES: RouterCase[] = [
  // static
  { name: 'root', routes: ['GET /'], request: ['GET', '/'], expect: r('GET /') },
  { name: 'static', routes: ['GET /a/b'], request: ['GET', '/a/b'], expect: r('GET /a/b') },
  {
    name: 'static, long',
    routes: ['GET /hello/world/again'],
    request: ['GET', '/hello/world/again'],
    expect: r('GET /hello/world/again'),
  },
  { name: 'extra segment misses', routes: ['GET /a/b'], request: ['GET', '/a/b/c'], expect: null },
  { name: 'missing segment misses', routes: ['GET /a/b'], request: ['GET', '/a'], expect: null },
  { name: 'prefix of a route misses', routes: ['GET /abc'], request: ['GET', '/ab'], expect: null },
  { name: 'longer word misses', routes: ['GET /ab'], request: ['GET', '/abc'], expect: null },
  {
    name: 'siblings sharing a prefix',
    routes: ['GET /repos', 'GET /repositories'],
    request: ['GET', '/repositories'],
    expect: r('GET /repositories'),
  },
  {
    name: 'siblings sharing a prefix, shorter',
    routes: ['GET /repositories', 'GET /repos'],
    request: ['GET', '/repos'],
    expect: r('GET /repos'),
  },
  { name: 'static is case-sensitive', routes: ['GET /About'], request: ['GET', '/about'], expect: null },
  { name: 'root does not match empty', routes: ['GET /'], request: ['GET', ''], expect: null },
  { name: 'a path must start with /', routes: ['GET /a'], request: ['GET', 'a'], expect: null },
  // trailing slash and empty segments
  { name: 'trailing slash is strict', routes: ['GET /a'], request: ['GET', '/a/'], expect: null },
  { name: 'trailing-slash route', routes: ['GET /a/'], request: ['GET', '/a/'], expect: r('GET /a/') },
  { name: 'trailing-slash route needs its slash', routes: ['GET /a/'], request: ['GET', '/a'], expect: null },
  {
    name: 'both forms registered',
    routes: ['GET /a', 'GET /a/'],
    request: ['GET', '/a/'],
    expect: r('GET /a/'),
  },
  { name: 'double slash is not collapsed', routes: ['GET /a/b'], request: ['GET', '/a//b'], expect: null },
  { name: 'double-slash route', routes: ['GET /a//b'], request: ['GET', '/a//b'], expect: r('GET /a//b') },
  // methods
  {
    name: 'method tables are separate',
    routes: ['GET /a', 'POST /a'],
    request: ['POST', '/a'],
    expect: r('POST /a'),
  },
  { name: 'wrong method', routes: ['GET /a'], request: ['DELETE', '/a'], expect: null },
  { name: 'methods are case-sensitive', routes: ['GET /a'], request: ['get', '/a'], expect: null },
  {
    name: 'HEAD is its own table (the app falls back to GET)',
    routes: ['GET /a'],
    request: ['HEAD', '/a'],
    expect: null,
  },
  { name: 'explicit HEAD', routes: ['GET /a', 'HEAD /a'], request: ['HEAD', '/a'], expect: r('HEAD /a') },
  {
    name: 'extension method',
    routes: ['PROPFIND /dav'],
    request: ['PROPFIND', '/dav'],
    expect: r('PROPFIND /dav'),
  },
  // params
  {
    name: 'param',
    routes: ['GET /users/:id'],
    request: ['GET', '/users/42'],
    expect: r('GET /users/:id', { id: '42' }),
  },
  { name: 'param is one segment', routes: ['GET /users/:id'], request: ['GET', '/users/42/x'], expect: null },
  { name: 'param is not empty', routes: ['GET /users/:id'], request: ['GET', '/users/'], expect: null },
  { name: 'param needs its segment', routes: ['GET /users/:id'], request: ['GET', '/users'], expect: null },
  {
    name: 'param at the root',
    routes: ['GET /:slug'],
    request: ['GET', '/hello'],
    expect: r('GET /:slug', { slug: 'hello' }),
  },
  {
    name: 'two params',
    routes: ['GET /repos/:owner/:repo'],
    request: ['GET', '/repos/nodejs/node'],
    expect: r('GET /repos/:owner/:repo', { owner: 'nodejs', repo: 'node' }),
  },
  {
    name: 'params with static between',
    routes: ['GET /a/:x/b/:y/c'],
    request: ['GET', '/a/1/b/2/c'],
    expect: r('GET /a/:x/b/:y/c', { x: '1', y: '2' }),
  },
  {
    name: 'param value keeps dots and dashes',
    routes: ['GET /f/:name'],
    request: ['GET', '/f/a.b-c_d~e'],
    expect: r('GET /f/:name', { name: 'a.b-c_d~e' }),
  },
  {
    name: 'param value with a colon',
    routes: ['GET /t/:at'],
    request: ['GET', '/t/12:30'],
    expect: r('GET /t/:at', { at: '12:30' }),
  },
  {
    name: 'param names with $ and _',
    routes: ['GET /x/:$a/:_b'],
    request: ['GET', '/x/1/2'],
    expect: r('GET /x/:$a/:_b', { $a: '1', _b: '2' }),
  },
  {
    name: 'a param named like an Object method',
    routes: ['GET /o/:constructor'],
    request: ['GET', '/o/x'],
    expect: r('GET /o/:constructor', { constructor: 'x' }),
  },
  {
    name: 'different names at one position in different routes',
    routes: ['GET /u/:id/posts', 'GET /u/:userId'],
    request: ['GET', '/u/7'],
    expect: r('GET /u/:userId', { userId: '7' }),
  },
  {
    name: 'different names at one position, other branch',
    routes: ['GET /u/:id/posts', 'GET /u/:userId'],
    request: ['GET', '/u/7/posts'],
    expect: r('GET /u/:id/posts', { id: '7' }),
  },
  {
    name: 'static text may contain a colon after its start',
    routes: ['POST /v1/things:batchGet'],
    request: ['POST', '/v1/things:batchGet'],
    expect: r('POST /v1/things:batchGet'),
  },
  // priority and backtracking
  {
    name: 'static beats param',
    routes: ['GET /users/:id', 'GET /users/me'],
    request: ['GET', '/users/me'],
    expect: r('GET /users/me'),
  },
  {
    name: 'static beats param, registered the other way',
    routes: ['GET /users/me', 'GET /users/:id'],
    request: ['GET', '/users/me'],
    expect: r('GET /users/me'),
  },
  {
    name: 'param beside a static sibling that shares a prefix',
    routes: ['GET /users/me', 'GET /users/:id'],
    request: ['GET', '/users/mei'],
    expect: r('GET /users/:id', { id: 'mei' }),
  },
  {
    name: 'param beside a static prefix sibling',
    routes: ['GET /users/me', 'GET /users/:id'],
    request: ['GET', '/users/m'],
    expect: r('GET /users/:id', { id: 'm' }),
  },
  {
    name: 'param beats wildcard',
    routes: ['GET /files/*', 'GET /files/:name'],
    request: ['GET', '/files/a.txt'],
    expect: r('GET /files/:name', { name: 'a.txt' }),
  },
  {
    name: 'static beats wildcard',
    routes: ['GET /files/*', 'GET /files/index'],
    request: ['GET', '/files/index'],
    expect: r('GET /files/index'),
  },
  {
    name: 'backtrack out of a static dead end',
    routes: ['GET /a/b', 'GET /a/:x/c'],
    request: ['GET', '/a/b/c'],
    expect: r('GET /a/:x/c', { x: 'b' }),
  },
  {
    name: 'backtrack out of a deep static dead end',
    routes: ['GET /a/b/c/d', 'GET /a/:x/c/e'],
    request: ['GET', '/a/b/c/e'],
    expect: r('GET /a/:x/c/e', { x: 'b' }),
  },
  {
    name: 'backtrack out of a param dead end into a wildcard',
    routes: ['GET /a/:x/c', 'GET /a/*'],
    request: ['GET', '/a/b/d'],
    expect: r('GET /a/*', { '*': 'b/d' }),
  },
  {
    name: 'backtrack out of a static dead end into a wildcard',
    routes: ['GET /a/b/c', 'GET /a/*'],
    request: ['GET', '/a/b/x'],
    expect: r('GET /a/*', { '*': 'b/x' }),
  },
  {
    name: 'backtracking restores the params',
    routes: ['GET /a/:x/:y/z', 'GET /a/:p/q'],
    request: ['GET', '/a/1/q'],
    expect: r('GET /a/:p/q', { p: '1' }),
  },
  {
    name: 'backtracking through two params',
    routes: ['GET /:a/:b/x', 'GET /:c/y/z'],
    request: ['GET', '/1/y/z'],
    expect: r('GET /:c/y/z', { c: '1' }),
  },
  // wildcard
  {
    name: 'wildcard takes the rest',
    routes: ['GET /files/*'],
    request: ['GET', '/files/a/b/c.txt'],
    expect: r('GET /files/*', { '*': 'a/b/c.txt' }),
  },
  {
    name: 'wildcard may be empty',
    routes: ['GET /files/*'],
    request: ['GET', '/files/'],
    expect: r('GET /files/*', { '*': '' }),
  },
  { name: 'wildcard needs its slash', routes: ['GET /files/*'], request: ['GET', '/files'], expect: null },
  {
    name: 'wildcard keeps trailing slashes',
    routes: ['GET /files/*'],
    request: ['GET', '/files/a/'],
    expect: r('GET /files/*', { '*': 'a/' }),
  },
  {
    name: 'root wildcard',
    routes: ['GET /*'],
    request: ['GET', '/any/thing'],
    expect: r('GET /*', { '*': 'any/thing' }),
  },
  {
    name: 'root wildcard matches the root',
    routes: ['GET /*'],
    request: ['GET', '/'],
    expect: r('GET /*', { '*': '' }),
  },
  {
    name: 'wildcard after a param',
    routes: ['GET /u/:id/*'],
    request: ['GET', '/u/7/a/b'],
    expect: r('GET /u/:id/*', { id: '7', '*': 'a/b' }),
  },
  // optional
  {
    name: 'optional param present',
    routes: ['GET /posts/:id?'],
    request: ['GET', '/posts/7'],
    expect: r('GET /posts/:id?', { id: '7' }),
  },
  {
    name: 'optional param absent',
    routes: ['GET /posts/:id?'],
    request: ['GET', '/posts'],
    expect: r('GET /posts/:id?'),
  },
  {
    name: 'optional param absent, slash present',
    routes: ['GET /posts/:id?'],
    request: ['GET', '/posts/'],
    expect: null,
  },
  {
    name: 'optional param after a param',
    routes: ['GET /a/:x/:y?'],
    request: ['GET', '/a/1'],
    expect: r('GET /a/:x/:y?', { x: '1' }),
  },
  {
    name: 'optional param at the root',
    routes: ['GET /:lang?'],
    request: ['GET', '/'],
    expect: r('GET /:lang?'),
  },
  {
    name: 'optional patterned param',
    routes: ['GET /p/:n{[0-9]+}?'],
    request: ['GET', '/p/12'],
    expect: r('GET /p/:n{[0-9]+}?', { n: '12' }),
  },
  // patterns
  {
    name: 'pattern matches',
    routes: ['GET /users/:id{[0-9]+}'],
    request: ['GET', '/users/123'],
    expect: r('GET /users/:id{[0-9]+}', { id: '123' }),
  },
  {
    name: 'pattern refuses',
    routes: ['GET /users/:id{[0-9]+}'],
    request: ['GET', '/users/abc'],
    expect: null,
  },
  {
    name: 'pattern is anchored',
    routes: ['GET /users/:id{[0-9]+}'],
    request: ['GET', '/users/12a'],
    expect: null,
  },
  {
    name: 'pattern with a quantifier brace',
    routes: ['GET /d/:year{[0-9]{4}}'],
    request: ['GET', '/d/2024'],
    expect: r('GET /d/:year{[0-9]{4}}', { year: '2024' }),
  },
  {
    name: 'pattern with an alternation',
    routes: ['GET /f/:fmt{json|xml}'],
    request: ['GET', '/f/xml'],
    expect: r('GET /f/:fmt{json|xml}', { fmt: 'xml' }),
  },
  {
    name: 'alternation is anchored as a whole',
    routes: ['GET /f/:fmt{json|xml}'],
    request: ['GET', '/f/xmlx'],
    expect: null,
  },
  {
    name: 'pattern before the plain param',
    routes: ['GET /u/:name', 'GET /u/:id{[0-9]+}'],
    request: ['GET', '/u/5'],
    expect: r('GET /u/:id{[0-9]+}', { id: '5' }),
  },
  {
    name: 'plain param when the pattern refuses',
    routes: ['GET /u/:name', 'GET /u/:id{[0-9]+}'],
    request: ['GET', '/u/bob'],
    expect: r('GET /u/:name', { name: 'bob' }),
  },
  {
    name: 'patterns in registration order',
    routes: ['GET /v/:a{[a-z]+}', 'GET /v/:b{[a-z0-9]+}'],
    request: ['GET', '/v/abc'],
    expect: r('GET /v/:a{[a-z]+}', { a: 'abc' }),
  },
  {
    name: 'second pattern when the first refuses',
    routes: ['GET /v/:a{[a-z]+}', 'GET /v/:b{[a-z0-9]+}'],
    request: ['GET', '/v/ab1'],
    expect: r('GET /v/:b{[a-z0-9]+}', { b: 'ab1' }),
  },
  {
    name: 'pattern dead end backtracks to the plain param',
    routes: ['GET /w/:id{[0-9]+}/x', 'GET /w/:slug/y'],
    request: ['GET', '/w/1/y'],
    expect: r('GET /w/:slug/y', { slug: '1' }),
  },
  {
    name: 'pattern is tested on the raw segment',
    routes: ['GET /r/:v{[a-z]+}'],
    request: ['GET', '/r/%61'],
    expect: null,
  },
  // percent-encoding
  {
    name: 'params are decoded',
    routes: ['GET /tags/:tag'],
    request: ['GET', '/tags/caf%C3%A9%20au%2Flait'],
    expect: r('GET /tags/:tag', { tag: 'café au/lait' }),
  },
  {
    name: 'only params with a % are decoded',
    routes: ['GET /a/:x/:y'],
    request: ['GET', '/a/plain/%7E'],
    expect: r('GET /a/:x/:y', { x: 'plain', y: '~' }),
  },
  {
    name: 'plus is not a space in a path',
    routes: ['GET /q/:v'],
    request: ['GET', '/q/a+b'],
    expect: r('GET /q/:v', { v: 'a+b' }),
  },
  {
    name: 'wildcard is decoded',
    routes: ['GET /files/*'],
    request: ['GET', '/files/a%20b/c'],
    expect: r('GET /files/*', { '*': 'a b/c' }),
  },
  {
    name: 'encoded slash stays in its param',
    routes: ['GET /a/:x/b'],
    request: ['GET', '/a/1%2F2/b'],
    expect: r('GET /a/:x/b', { x: '1/2' }),
  },
  {
    name: 'malformed escape',
    routes: ['GET /tags/:tag'],
    request: ['GET', '/tags/%E0%A4%A'],
    expect: MALFORMED,
  },
  { name: 'lone percent', routes: ['GET /tags/:tag'], request: ['GET', '/tags/%'], expect: MALFORMED },
  {
    name: 'percent and one digit',
    routes: ['GET /tags/:tag'],
    request: ['GET', '/tags/a%4'],
    expect: MALFORMED,
  },
  { name: 'invalid UTF-8', routes: ['GET /tags/:tag'], request: ['GET', '/tags/%C0%AF'], expect: MALFORMED },
  {
    name: 'malformed wildcard',
    routes: ['GET /files/*'],
    request: ['GET', '/files/a/%zz'],
    expect: MALFORMED,
  },
  {
    name: 'malformed escape in a static miss is just a miss',
    routes: ['GET /a'],
    request: ['GET', '/%zz'],
    expect: null,
  },
  {
    name: 'static segments are compared raw',
    routes: ['GET /users/me'],
    request: ['GET', '/users/m%65'],
    expect: null,
  },
  {
    name: 'raw % in a static route',
    routes: ['GET /a%20b'],
    request: ['GET', '/a%20b'],
    expect: r('GET /a%20b'),
  },
  {
    name: 'non-ASCII static text matches its encoded form',
    routes: ['GET /café'],
    request: ['GET', '/caf%C3%A9'],
    expect: r('GET /café'),
  },
  {
    name: 'non-ASCII static text: lowercase escapes are another path',
    routes: ['GET /café'],
    request: ['GET', '/caf%c3%a9'],
    expect: null,
  },
  // query strings, defensively
  {
    name: 'query string after a static route',
    routes: ['GET /a'],
    request: ['GET', '/a?x=1'],
    expect: r('GET /a'),
  },
  {
    name: 'query string after a param',
    routes: ['GET /u/:id'],
    request: ['GET', '/u/42?x=1'],
    expect: r('GET /u/:id', { id: '42' }),
  },
  {
    name: 'query string picks the static route',
    routes: ['GET /a/:x', 'GET /a/b'],
    request: ['GET', '/a/b?c'],
    expect: r('GET /a/b'),
  },
  {
    name: 'query string after a wildcard',
    routes: ['GET /f/*'],
    request: ['GET', '/f/a/b?v=2'],
    expect: r('GET /f/*', { '*': 'a/b' }),
  },
  { name: 'query string alone', routes: ['GET /'], request: ['GET', '/?a'], expect: r('GET /') },
  {
    name: 'question mark right after a segment slash',
    routes: ['GET /u/:id'],
    request: ['GET', '/u/?x'],
    expect: null,
  },
  {
    name: 'encoded question mark stays in the param',
    routes: ['GET /u/:id'],
    request: ['GET', '/u/a%3Fb'],
    expect: r('GET /u/:id', { id: 'a?b' }),
  },
];

for (const { name: routerName, create } of ROUTERS) {
  describe(`${routerName} conformance`, () => {
    for (const c of CASES) {
      test(c.name, () => {
        const router = create();
        for (const route of c.routes) {
          const space = route.indexOf(' ');
          router.add(route.slice(0, space), route.slice(space + 1), route);
        }
        const found = router.find(c.request[0], c.request[1]);
        if (c.expect === null || c.expect === MALFORMED) {
          assert.equal(found, c.expect, JSON.stringify(found));
          return;
        }
        assert.ok(found !== null && found !== MALFORMED, `expected ${c.expect.route}, got ${String(found)}`);
        assert.equal(found.value, c.expect.route);
        assert.equal(found.route, c.expect.route.slice(c.expect.route.indexOf(' ') + 1));
        assert.deepEqual({ ...found.params }, c.expect.params);
        assert.equal(Object.getPrototypeOf(found.params), Object.prototype, 'params is a plain object');
      });
    }
  });
}
