import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { defineConfig, type StrataConfig } from '../../src/cli/config.ts';
import { checkConfig } from '../../src/cli/config-file.ts';
import { closest, editDistance, int, obj, schemaPaths, validate } from '../../src/cli/config-rules.ts';
import { CONFIG_SCHEMA } from '../../src/cli/config-schema.ts';
import { createLogger } from '../../src/observe/index.ts';
import { SUPERVISOR_DEFAULTS } from '../../src/parallel/index.ts';
import { REALTIME_DEFAULTS } from '../../src/realtime/options.ts';
import type { AccessLogOptions } from '../../src/server/access-log.ts';
import { HTTP2_DEFAULTS, SERVER_DEFAULTS, type StaticOptions } from '../../src/server.ts';
import { ROOT } from '../fixtures/cli.ts';
import { fuzz, PRINTABLE, type Rng } from '../fixtures/fuzz.ts';

const DIR = '/srv/site';
/** What validate() returns for a config with object-form static and accessLog. */
type Clean = StrataConfig & { static: StaticOptions; accessLog: AccessLogOptions };
const TS = { baseDir: DIR, dataOnly: false };
const JSON_FILE = { baseDir: DIR, dataOnly: true };

/** The issues of a config, as `path: message` lines. */
function issuesOf(config: unknown, options = TS): string[] {
  return validate(config, CONFIG_SCHEMA, options).issues.map((i) => `${i.path}: ${i.message}`);
}

describe('a good config', () => {
  test('passes, and comes back as a clean copy with paths resolved against its directory', () => {
    const immutable = /\.[0-9a-f]{8,}\./;
    const logger = createLogger({ level: 'silent' });
    const config = {
      app: './app.ts',
      port: 8080,
      host: '0.0.0.0',
      maxBodySize: 10 * 1024 * 1024,
      headersTimeout: 10_000,
      maxInFlight: 512,
      allow: ['10.0.0.0/8', 'loopback'],
      deny: ['203.0.113.0/24'],
      trustProxy: ['private'],
      allowedHosts: ['example.com', '*.example.com', 'localhost', '[::1]', '192.0.2.1'],
      static: { root: 'public', spaFallback: 'index.html', maxAge: 60, immutable, index: ['index.html'] },
      compression: { threshold: 512, encodings: ['br', 'gzip'], levels: { br: 5 }, types: ['text/*'] },
      accessLog: { format: 'json', destination: 'logs/access.log', requestId: { trust: 'never' } },
      websocket: { maxPayload: 65_536, allowedOrigins: ['https://app.example.com'] },
      loadShedding: { maxEventLoopDelay: 200, maxEventLoopUtilization: 0.95 },
      admin: { port: 9200 },
      redis: 'redis://127.0.0.1:6379',
      workers: { count: 'auto', mode: 'cluster', maxRequests: 10_000, maxRequestsJitter: 500 },
      logger,
      dev: false,
      port2: undefined, // an unknown key set to undefined is still unknown
    };
    const { port2: _, ...good } = config;
    const { value, issues } = validate(good, CONFIG_SCHEMA, TS);
    assert.deepEqual(issues, []);
    const clean = value as Clean;
    assert.equal(clean.app, '/srv/site/app.ts');
    assert.equal(clean.static.root, '/srv/site/public');
    assert.equal(clean.static.spaFallback, 'index.html', 'relative to static.root, left as it is');
    assert.equal(clean.accessLog.destination, '/srv/site/logs/access.log');
    assert.equal(clean.static.immutable, immutable);
    assert.equal(clean.logger, logger);
    assert.notEqual(clean.static, good.static, 'a copy, not the file’s own object');
    assert.deepEqual(issuesOf(config), ['port2: unknown key in the config; did you mean "port"?']);
  });

  test('shorthands: static as a directory, workers as a count, booleans for compression, accessLog, admin', () => {
    assert.deepEqual(
      issuesOf({ static: './public', workers: 4, compression: true, accessLog: true, admin: true }),
      [],
    );
    assert.deepEqual(issuesOf({ workers: 'auto', accessLog: { destination: 'stdout' } }), []);
    const { value } = validate({ accessLog: { destination: 'stdout' } }, CONFIG_SCHEMA, TS);
    assert.equal((value as Clean).accessLog.destination, 'stdout', 'stdout is not a file name');
  });

  test('an empty config and absolute paths are fine', () => {
    assert.deepEqual(issuesOf({}), []);
    const { value } = validate({ app: '/opt/app/server.ts' }, CONFIG_SCHEMA, TS);
    assert.equal((value as Clean).app, '/opt/app/server.ts');
  });
});

describe('bad values name their path', () => {
  // [config, the issue expected (path: message)]
  const cases: [string, unknown, RegExp][] = [
    [
      'a string for a number',
      { maxBodySize: '1048576' },
      /^maxBodySize: must be a non-negative integer \(bytes\), got "1048576" \(a string: write the number without quotes\)$/,
    ],
    ['NaN', { maxBodySize: Number.NaN }, /^maxBodySize: must be .*got NaN$/],
    ['Infinity', { maxInFlight: Number.POSITIVE_INFINITY }, /^maxInFlight: must be .*got Infinity$/],
    [
      'a negative size',
      { maxBodySize: -1 },
      /^maxBodySize: must be a non-negative integer \(bytes\), got -1$/,
    ],
    ['a fraction', { maxConnections: 1.5 }, /^maxConnections: must be an integer of at least 1, got 1.5$/],
    ['past MAX_SAFE_INTEGER', { maxBodySize: 2 ** 60 }, /^maxBodySize: must be .*got 1152921504606847000$/],
    [
      'a timeout a node timer cannot hold',
      { idleTimeout: 2 ** 31 },
      /^idleTimeout: must be an integer from 0 to 2147483647 \(ms\), got 2147483648$/,
    ],
    ['a port past 65535', { port: 70_000 }, /^port: must be an integer from 0 to 65535, got 70000$/],
    ['a bigint', { maxBodySize: 10n }, /^maxBodySize: must be .*got 10$/],
    ['null', { maxBodySize: null }, /^maxBodySize: must be .*got null$/],
    ['a function for data', { maxBodySize: () => 5 }, /^maxBodySize: must be .*got a function$/],
    [
      'a function for an object',
      { static: () => ({ root: '.' }) },
      /^static: must be a path, or an object, got a function$/,
    ],
    [
      'a Map for an object',
      { websocket: new Map([['maxPayload', 1]]) },
      /^websocket: must be a plain object, got a Map$/,
    ],
    [
      'a class instance',
      {
        static: new (class Options {
          root = '.';
        })(),
      },
      /^static: must be a plain object, got an Options$/,
    ],
    ['a Date', { loadShedding: new Date() }, /^loadShedding: must be a plain object, got a Date$/],
    ['a list for an object', { websocket: [] }, /^websocket: must be a plain object, got a list$/],
    ['an object for a list', { allow: { 0: '10.0.0.1' } }, /^allow: must be a list, each .*got an object$/],
    ['a string for a boolean', { dev: 'true' }, /^dev: must be true or false, got "true"$/],
    [
      'an enum',
      { static: { root: '.', symlinks: 'always' } },
      /^static\.symlinks: must be "inside" or "follow" or "deny", got "always"$/,
    ],
    [
      'spaFallback not a string',
      { static: { root: '.', spaFallback: 42 } },
      /^static\.spaFallback: must be a file under static\.root, got 42$/,
    ],
    [
      'spaFallback above the root',
      { static: { root: '.', spaFallback: '../secrets.txt' } },
      /^static\.spaFallback: must be relative to static\.root, without "\.\." segments, got "\.\.\/secrets\.txt"$/,
    ],
    [
      'spaFallback absolute',
      { static: { root: '.', spaFallback: '/etc/passwd' } },
      /^static\.spaFallback: must be relative/,
    ],
    [
      'an index file above the root',
      { static: { root: '.', index: ['..\\up.html'] } },
      /^static\.index\[0\]: must be relative/,
    ],
    [
      'a prefix without /',
      { static: { root: '.', prefix: 'assets' } },
      /^static\.prefix: must start with "\/"/,
    ],
    [
      'a RegExp as a string',
      { static: { root: '.', immutable: '\\.[0-9a-f]{8}\\.' } },
      /^static\.immutable: must be a RegExp, got/,
    ],
    ['an empty string', { host: '' }, /^host: must be an IP address or a host name, got ""$/],
    ['a NUL in a path', { app: 'app.ts\0.png' }, /^app: must not contain a NUL character$/],
    ['a huge string', { host: 'a'.repeat(10_000) }, /^host: must be at most 4096 characters, got 10000$/],
    [
      'a host with a space',
      { host: '0.0.0.0 ' },
      /^host: is not an IP address or a host name, got "0\.0\.0\.0 "$/,
    ],
    [
      'a bad address',
      { deny: ['10.0.0.1', 'nope'] },
      /^deny\[1\]: Not an IP address or CIDR range: "nope", got "nope"$/,
    ],
    ['a bad CIDR', { trustProxy: ['10.0.0.0/33'] }, /^trustProxy\[0\]: /],
    [
      'allowedHosts with a port',
      { allowedHosts: ['example.com:443'] },
      /^allowedHosts\[0\]: is not a host name: write it without a port/,
    ],
    [
      'allowedHosts *',
      { allowedHosts: ['*'] },
      /^allowedHosts\[0\]: is not a host name \(leave allowedHosts out to answer any Host\)/,
    ],
    ['allowedHosts a URL', { allowedHosts: ['https://example.com'] }, /^allowedHosts\[0\]: /],
    [
      'a redis URL of another scheme',
      { redis: 'http://127.0.0.1:6379' },
      /^redis: must be a redis:\/\/ or rediss:\/\/ URL/,
    ],
    [
      'a compression level out of range',
      { compression: { levels: { br: 12 } } },
      /^compression\.levels\.br: must be an integer from 0 to 11, got 12$/,
    ],
    [
      'an unknown coding',
      { compression: { encodings: ['lzma'] } },
      /^compression\.encodings\[0\]: must be "zstd" or "br" or "gzip" or "deflate", got "lzma"$/,
    ],
    [
      'a coding twice',
      { compression: { encodings: ['br', 'br'] } },
      /^compression\.encodings: lists an entry twice$/,
    ],
    ['no codings', { compression: { encodings: [] } }, /^compression\.encodings: must list at least 1$/],
    ['a media type', { compression: { types: ['json'] } }, /^compression\.types\[0\]: is not a media type/],
    [
      'an access log format',
      { accessLog: { format: 'apache' } },
      /^accessLog\.format: must be "combined" or "json", got "apache"$/,
    ],
    [
      'a request-id header',
      { accessLog: { requestId: { header: 'x id' } } },
      /^accessLog\.requestId\.header: is not a header name/,
    ],
    [
      'requestId true',
      { accessLog: { requestId: true } },
      /^accessLog\.requestId: must be false, or an object, got true$/,
    ],
    [
      'a websocket window',
      { websocket: { deflateWindowBits: 16 } },
      /^websocket\.deflateWindowBits: must be an integer from 8 to 15, got 16$/,
    ],
    [
      'allowedOrigins a string',
      { websocket: { allowedOrigins: 'https://a.example' } },
      /^websocket\.allowedOrigins: must be "\*", or a list, each an origin, got "https:\/\/a\.example"$/,
    ],
    [
      'a utilisation above 1',
      { loadShedding: { maxEventLoopUtilization: 1.5 } },
      /^loadShedding\.maxEventLoopUtilization: must be a number from 0 to 1, got 1.5$/,
    ],
    ['workers 0', { workers: 0 }, /^workers: must be an integer from 1 to 1024, got 0$/],
    [
      'workers as a string',
      { workers: '4' },
      /^workers: must be an integer from 1 to 1024, or "auto", or an object, got "4" \(a string: write the number without quotes\)$/,
    ],
    [
      'workers.maxRequests negative',
      { workers: { maxRequests: -1 } },
      /^workers\.maxRequests: must be a non-negative integer, got -1$/,
    ],
    [
      'workers.mode',
      { workers: { mode: 'fork' } },
      /^workers\.mode: must be "reusePort" or "cluster", got "fork"$/,
    ],
    [
      'workers.gracefulTimeout past a timer',
      { workers: { gracefulTimeout: 3_000_000 } },
      /^workers\.gracefulTimeout: must be an integer from 0 to 2147483 \(s\), got 3000000$/,
    ],
    ['admin.port', { admin: { port: -1 } }, /^admin\.port: must be an integer from 0 to 65535, got -1$/],
    [
      'admin as a string',
      { admin: '127.0.0.1:9100' },
      /^admin: must be true or false, or an object, got "127\.0\.0\.1:9100"$/,
    ],
    [
      'a logger that is not one',
      { logger: {} },
      /^logger: must be false, or a pino logger \(or false\), got an object$/,
    ],
    ['a logger level string', { logger: 'info' }, /^logger: must be false, or a pino logger/],
    ['the export is not an object', 42, /^\(the exported object\): must be a plain object, got 42$/],
    [
      'the export is a function',
      () => ({}),
      /^\(the exported object\): must be a plain object, got a function$/,
    ],
    ['the export is null', null, /^\(the exported object\): must be a plain object, got null$/],
    [
      'a list too long',
      { allow: Array.from({ length: 70_000 }, () => '10.0.0.1') },
      /^allow: lists 70000 entries, at most 65536 allowed$/,
    ],
  ];
  for (const [name, config, expected] of cases) {
    test(name, () => {
      const issues = issuesOf(config);
      assert.equal(issues.length, 1, issues.join('\n'));
      assert.match(issues[0]!, expected);
    });
  }

  test('every issue is reported, not only the first', () => {
    const issues = issuesOf({
      port: -1,
      static: { root: '.', spaFallback: 1, maxAge: -1 },
      workers: { maxRequests: 'x' },
    });
    assert.deepEqual(
      issues.map((i) => i.split(':')[0]),
      ['port', 'static.spaFallback', 'static.maxAge', 'workers.maxRequests'],
    );
  });

  test('a key set to undefined is left unset', () => {
    assert.deepEqual(issuesOf({ port: undefined, static: { root: '.', spaFallback: undefined } }), []);
  });
});

describe('unknown keys: the path and a did-you-mean', () => {
  const cases: [unknown, string][] = [
    [{ maxBodySise: 1 }, 'maxBodySise: unknown key in the config; did you mean "maxBodySize"?'],
    [{ maxbodysize: 1 }, 'maxbodysize: unknown key in the config; did you mean "maxBodySize"?'],
    [
      { static: { root: '.', spaFalback: 'index.html' } },
      'static.spaFalback: unknown key in static; did you mean "spaFallback"?',
    ],
    [
      { workers: { maxRequest: 10 } },
      'workers.maxRequest: unknown key in workers; did you mean "maxRequests"?',
    ],
    [
      { workers: { maxReqeusts: 10 } },
      'workers.maxReqeusts: unknown key in workers; did you mean "maxRequests"?',
    ],
    [
      { spaFallback: 'index.html' },
      'spaFallback: unknown key in the config; did you mean "static.spaFallback"?',
    ],
    [{ maxRequests: 10 }, 'maxRequests: unknown key in the config; did you mean "workers.maxRequests"?'],
    [{ compression: { level: 6 } }, 'compression.level: unknown key in compression; did you mean "levels"?'],
    [
      { accessLog: { requestId: { trusted: 'never' } } },
      'accessLog.requestId.trusted: unknown key in accessLog.requestId; did you mean "trust"?',
    ],
    [
      { websocket: { maxPayloadSize: 1 } },
      'websocket.maxPayloadSize: unknown key in websocket; did you mean "maxPayload"?',
    ],
  ];
  for (const [config, expected] of cases) {
    test(expected.split(':')[0]!, () => {
      assert.deepEqual(issuesOf(config), [expected]);
      assert.equal(validate(config, CONFIG_SCHEMA, TS).issues[0]!.code, 'STRATA_ERR_CONFIG_UNKNOWN_KEY');
    });
  }

  test('a key far from every other lists the known ones', () => {
    const [issue] = issuesOf({ static: { root: '.', zzzzzz: 1 } });
    assert.match(
      issue!,
      /^static\.zzzzzz: unknown key in static \(known: root, prefix, index, .*sendfile\)$/,
    );
  });

  test('keys of serve() the file cannot hold say why', () => {
    assert.match(
      issuesOf({ signal: 'x' })[0]!,
      /^signal: cannot be set in a config file: the CLI owns shutdown/,
    );
    assert.match(issuesOf({ broker: {} })[0]!, /^broker: cannot be set in a config file: .*set `redis`/);
    assert.match(issuesOf({ onRequestStart: () => {} })[0]!, /^onRequestStart: cannot be set/);
  });

  test('edit distance: transpositions count one, and a long key suggests nothing', () => {
    assert.equal(editDistance('maxreqeusts', 'maxrequests'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(closest('x'.repeat(10_000), ['port']), undefined);
    assert.equal(closest('prot', ['port', 'host']), 'port');
    assert.equal(closest('zz', ['port', 'host']), undefined);
  });
});

describe('hostile shapes', () => {
  test('__proto__ in a JSON file is refused, and pollutes nothing', () => {
    const parsed = JSON.parse(
      '{"__proto__": {"polluted": true}, "static": {"root": ".", "__proto__": {"x": 1}}}',
    );
    const { value, issues } = validate(parsed, CONFIG_SCHEMA, JSON_FILE);
    assert.deepEqual(
      issues.map((i) => `${i.path}: ${i.message}`),
      [
        '__proto__: "__proto__" is not a config key (it would reach the object\'s prototype)',
        'static.__proto__: "__proto__" is not a config key (it would reach the object\'s prototype)',
      ],
    );
    assert.equal(value, undefined);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  test('constructor and prototype keys are refused at any depth', () => {
    assert.match(
      issuesOf(JSON.parse('{"constructor": {"prototype": {"polluted": 1}}}'))[0]!,
      /^constructor: "constructor" is not a config key/,
    );
    assert.match(
      issuesOf({ websocket: { prototype: 1 } })[0]!,
      /^websocket\.prototype: "prototype" is not a config key/,
    );
  });

  test('an object literal with __proto__ (a prototype, not a key) is not a plain object', () => {
    assert.match(
      issuesOf({ static: { __proto__: { root: '.' } } })[0]!,
      /^static: must be a plain object, got an object with a prototype$/,
    );
  });

  test('Object.create(null) is a plain object; symbol keys are refused', () => {
    const bare = Object.assign(Object.create(null), { port: 1 });
    assert.deepEqual(issuesOf(bare), []);
    assert.match(issuesOf({ [Symbol('port')]: 1 })[0]!, /has a symbol key \(Symbol\(port\)\)/);
  });

  test('a key named like an Object.prototype member is unknown, not found on the prototype', () => {
    assert.match(issuesOf({ toString: 1 })[0]!, /^toString: unknown key/);
    assert.match(
      issuesOf({ static: { root: '.', hasOwnProperty: 1 } })[0]!,
      /^static\.hasOwnProperty: unknown key/,
    );
  });

  test('a subclassed array is not a list', () => {
    class Hosts extends Array<string> {}
    assert.match(issuesOf({ allowedHosts: Hosts.from(['a.example']) })[0]!, /^allowedHosts: must be a list/);
  });

  test('code-valued keys are refused in a JSON file, with the reason', () => {
    assert.deepEqual(issuesOf({ static: { root: '.', immutable: 'x' }, logger: { info: 1 } }, JSON_FILE), [
      'static.immutable: takes a RegExp, which only a .ts, .mjs or .js config file can hold',
      'logger: takes a pino logger (or false), which only a .ts, .mjs or .js config file can hold',
    ]);
    assert.deepEqual(issuesOf({ logger: false }, JSON_FILE), [], 'false is data');
  });

  test('checkConfig throws one CliError, exit code 2, every issue on its own line', () => {
    assert.throws(
      () => checkConfig({ maxBodySise: 1, port: 'x' }, { file: '/srv/strata.config.ts', dataOnly: false }),
      (err: Error & { code: string; exitCode: number }) => {
        assert.equal(err.code, 'STRATA_ERR_CONFIG_UNKNOWN_KEY');
        assert.equal(err.exitCode, 2);
        assert.match(
          err.message,
          /^\/srv\/strata\.config\.ts has 2 errors; nothing was started:\n {2}maxBodySise: .*\n {2}port: must be/,
        );
        return true;
      },
    );
  });

  test('fuzz: random JSON-like values never throw, and what passes passes again unchanged', async () => {
    const keys = [
      ...schemaPaths(CONFIG_SCHEMA).map((p) => p.split('.').at(-1)!),
      '__proto__',
      'constructor',
      'x',
    ];
    const value = (rng: Rng, depth: number): unknown => {
      switch (rng.int(0, depth > 3 ? 5 : 7)) {
        case 0:
          return rng.pick([0, 1, -1, 1.5, 65_535, 2 ** 31, Number.NaN, Number.POSITIVE_INFINITY, 1e300, -0]);
        case 1:
          return rng.string(PRINTABLE, rng.int(0, 12));
        case 2:
          return rng.pick([
            'auto',
            'cluster',
            'json',
            'stdout',
            'index.html',
            '../x',
            '10.0.0.0/8',
            '*',
            'redis://h',
          ]);
        case 3:
          return rng.chance(0.5);
        case 4:
          return rng.pick([null, undefined, () => 1, /x/, new Date(0)]);
        case 5:
          return [];
        case 6:
          return Array.from({ length: rng.int(0, 3) }, () => value(rng, depth + 1));
        default: {
          const text = `{${Array.from({ length: rng.int(0, 4) }, () => `"${rng.pick(keys)}": 0`).join(',')}}`;
          const o = JSON.parse(text) as Record<string, unknown>;
          for (const k of Object.keys(o)) o[k] = value(rng, depth + 1);
          return o;
        }
      }
    };
    const runs = await fuzz({ seed: 0x5eed, iterations: 20_000, budgetMs: 1500 }, (rng) => {
      const input = value(rng, 0);
      const dataOnly = rng.chance(0.5);
      const first = validate(input, CONFIG_SCHEMA, { baseDir: DIR, dataOnly });
      for (const issue of first.issues) assert.ok(issue.path.length > 0 && issue.message.length > 0);
      if (first.issues.length === 0) {
        const again = validate(first.value, CONFIG_SCHEMA, { baseDir: DIR, dataOnly });
        assert.deepEqual(again.issues, []);
        assert.deepEqual(again.value, first.value);
      }
    });
    assert.ok(runs > 100, `ran ${runs} cases`);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

test('types: defineConfig refuses unknown keys and wrong types; a schema table missing a key does not compile', () => {
  // @ts-expect-error: an unknown key
  defineConfig({ maxBodySise: 1 });
  // @ts-expect-error: a string for a number
  defineConfig({ maxBodySize: '1' });
  // @ts-expect-error: signal is not a config key
  defineConfig({ signal: AbortSignal.abort() });
  assert.deepEqual(defineConfig({ workers: { count: 2 } }), { workers: { count: 2 } }, 'the identity');
  // @ts-expect-error: obj<T>() needs a rule for every key of T (here b is missing)
  obj<{ a?: number; b?: string }>({ a: int() });
  assert.ok(true);
});

test('docs/config.md documents every key of the schema, and only those', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'config.md'), 'utf8');
  const documented = new Set([...doc.matchAll(/^\|\s*`([\w.]+)`\s*\|/gm)].map((m) => m[1]!));
  const keys = schemaPaths(CONFIG_SCHEMA);
  assert.ok(keys.length > 60, `the schema has ${keys.length} keys`);
  assert.deepEqual(
    keys.filter((k) => !documented.has(k)),
    [],
    'keys missing from docs/config.md',
  );
  assert.deepEqual(
    [...documented].filter((k) => !keys.includes(k)),
    [],
    'documented keys the schema does not have',
  );
  // The default column, for the keys whose defaults live in a table of the code.
  const defaults = new Map(
    [...doc.matchAll(/^\|\s*`([\w.]+)`\s*\|[^|]*\|\s*`([^`]+)`/gm)].map((m) => [m[1]!, m[2]!]),
  );
  const tables: [string, Record<string, unknown>][] = [
    ['', SERVER_DEFAULTS],
    ['websocket.', REALTIME_DEFAULTS],
    ['workers.', SUPERVISOR_DEFAULTS],
    ['http2.', HTTP2_DEFAULTS],
  ];
  for (const [prefix, table] of tables) {
    for (const [key, value] of Object.entries(table))
      assert.equal(
        defaults.get(`${prefix}${key}`),
        String(value),
        `docs/config.md's default of ${prefix}${key}`,
      );
  }
});
