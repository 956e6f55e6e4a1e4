import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { App, requestId } from '../../src/app/index.ts';
import { parseServeFlags } from '../../src/cli/serve-command.ts';
import { nodeHandler } from '../../src/gateway/index.ts';
import { ACCESS_LOG_DEFAULTS, type AccessLogOptions } from '../../src/server/access-log.ts';
import { escapeLogValue, timeLocal } from '../../src/server/access-log-line.ts';
import { isWellFormedRequestId, RequestIdGenerator } from '../../src/server/request-id.ts';
import { type ServeOptions, type StrataServer, serve } from '../../src/server.ts';
import { startCli, stopCli } from '../fixtures/cli.ts';
import { rawRequest, waitFor } from '../fixtures/http.ts';
import { startPrimary } from '../fixtures/supervisor.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const FETCH_APP = join(ROOT, 'test', 'fixtures', 'apps', 'fetch-app.ts');
const dir = mkdtempSync(join(tmpdir(), 'strata-access-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

// The combined line as written, field by field (nginx's combined, then latency and request id).
const COMBINED =
  /^(\S+) - - \[(\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "([^"\\]*(?:\\.[^"\\]*)*)" (\d{3}) (\d+) "([^"\\]*(?:\\.[^"\\]*)*)" "([^"\\]*(?:\\.[^"\\]*)*)" (\d+\.\d{3}) "([^"\\]*(?:\\.[^"\\]*)*)"$/;

interface Combined {
  remote: string;
  time: string;
  request: string;
  status: number;
  bytes: number;
  referer: string;
  userAgent: string;
  ms: number;
  requestId: string;
}

function parseCombined(line: string): Combined {
  const m = COMBINED.exec(line);
  assert.ok(m, `not a combined line: ${JSON.stringify(line)}`);
  return {
    remote: m[1]!,
    time: m[2]!,
    request: m[3]!,
    status: Number(m[4]),
    bytes: Number(m[5]),
    referer: m[6]!,
    userAgent: m[7]!,
    ms: Number(m[8]),
    requestId: m[9]!,
  };
}

type Target = Parameters<typeof serve>[0];

/** Serves `target` with the log in a fresh file; `run` makes requests; returns the lines after close. */
async function logged(
  target: Target,
  run: (server: StrataServer) => Promise<void>,
  options: ServeOptions = {},
  format: 'combined' | 'json' = 'combined',
): Promise<string[]> {
  const file = join(dir, `access-${++files}.log`);
  const accessLog = typeof options.accessLog === 'object' ? options.accessLog : {};
  const server = await serve(target, {
    port: 0,
    logger: false,
    ...options,
    accessLog: { format, destination: file, ...accessLog },
  });
  try {
    await run(server);
  } finally {
    await server.close();
  }
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

const hello: Target = { fetch: () => new Response('hello world') };

describe('combined format', () => {
  test('every field of the line, parsed back', async () => {
    let seenId = '';
    const lines = await logged(hello, async (s) => {
      const res = await fetch(`${s.url}/path?q=1`, {
        headers: { referer: 'https://example.com/from', 'user-agent': 'probe/1.0' },
      });
      assert.equal(await res.text(), 'hello world');
      seenId = res.headers.get('x-request-id') ?? '';
    });
    assert.equal(lines.length, 1);
    const line = parseCombined(lines[0]!);
    assert.equal(line.remote, '127.0.0.1');
    assert.equal(line.request, 'GET /path?q=1 HTTP/1.1');
    assert.equal(line.status, 200);
    assert.equal(line.bytes, 11, 'body bytes, as $body_bytes_sent');
    assert.equal(line.referer, 'https://example.com/from');
    assert.equal(line.userAgent, 'probe/1.0');
    assert.ok(line.ms >= 0 && line.ms < 60_000);
    assert.match(seenId, /^[0-9a-v]{12}-[0-9a-z]+$/);
    assert.equal(line.requestId, seenId, 'the id in the response is the id in the log');
    // The time is today's, in nginx's $time_local shape.
    assert.equal(line.time.slice(0, 11), timeLocal(new Date()).slice(0, 11));
  });

  test('absent referer and user agent are "-"; HEAD and 304 log 0 bytes', async () => {
    const lines = await logged(
      { fetch: (r) => (r.url.endsWith('/304') ? new Response(null, { status: 304 }) : new Response('abc')) },
      async (s) => {
        for (const [method, path] of [
          ['GET', '/'],
          ['HEAD', '/'],
          ['GET', '/304'],
        ] as const) {
          const r = await rawRequest(
            s.port,
            `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
          );
          assert.ok(r.status > 0);
        }
      },
    );
    const parsed = lines.map(parseCombined);
    assert.deepEqual(
      parsed.map((l) => [l.request, l.status, l.bytes, l.referer, l.userAgent]),
      [
        ['GET / HTTP/1.1', 200, 3, '-', '-'],
        ['HEAD / HTTP/1.1', 200, 0, '-', '-'],
        ['GET /304 HTTP/1.1', 304, 0, '-', '-'],
      ],
    );
  });

  test('a streamed (chunked) body counts its bytes, not its framing', async () => {
    const lines = await logged(
      {
        fetch: () =>
          new Response(
            new ReadableStream({
              start(c) {
                c.enqueue(new TextEncoder().encode('x'.repeat(1000)));
                c.enqueue(new TextEncoder().encode('é'));
                c.close();
              },
            }),
          ),
      },
      async (s) => {
        assert.equal((await (await fetch(s.url)).text()).length, 1001);
      },
    );
    assert.equal(parseCombined(lines[0]!).bytes, 1002);
  });

  // Log injection (CWE-117): nothing a client sends may end a line early or forge a field.
  const injections: {
    name: string;
    head: string;
    field: 'request' | 'userAgent' | 'referer';
    expect: string;
  }[] = [
    {
      name: 'quote in the target',
      head: 'GET /a"b HTTP/1.1',
      field: 'request',
      expect: 'GET /a\\x22b HTTP/1.1',
    },
    {
      name: 'backslash in the target',
      head: 'GET /a\\b HTTP/1.1',
      field: 'request',
      expect: 'GET /a\\x5Cb HTTP/1.1',
    },
    {
      name: 'forged line in the user agent',
      head: 'GET / HTTP/1.1\r\nUser-Agent: x" 200 0 "-" "-" 0.1 "id',
      field: 'userAgent',
      expect: 'x\\x22 200 0 \\x22-\\x22 \\x22-\\x22 0.1 \\x22id',
    },
    {
      name: 'tab in the user agent',
      head: 'GET / HTTP/1.1\r\nUser-Agent: a\tb',
      field: 'userAgent',
      expect: 'a\\x09b',
    },
    {
      name: 'obs-text in the referer',
      head: 'GET / HTTP/1.1\r\nReferer: caf\xe9',
      field: 'referer',
      expect: 'caf\\xE9',
    },
  ];
  for (const c of injections) {
    test(`log injection is escaped: ${c.name}`, async () => {
      const lines = await logged(hello, async (s) => {
        const [requestLine, ...headers] = c.head.split('\r\n');
        const head = [requestLine, 'Host: x', ...headers, 'Connection: close'].join('\r\n');
        const r = await rawRequest(s.port, Buffer.from(`${head}\r\n\r\n`, 'latin1'));
        assert.equal(r.status, 200, r.text);
      });
      assert.equal(lines.length, 1, 'one request, one line');
      assert.equal(parseCombined(lines[0]!)[c.field], c.expect);
    });
  }

  test('escapeLogValue: control characters, quotes, backslashes, non-ASCII; plain text untouched', () => {
    const table: [string | undefined, string][] = [
      [undefined, '-'],
      ['', '-'],
      ['plain text /a?b=c', 'plain text /a?b=c'],
      ['a"b', 'a\\x22b'],
      ['a\\b', 'a\\x5Cb'],
      ['line\r\nnext', 'line\\x0D\\x0Anext'],
      ['\x00\x1f\x7f', '\\x00\\x1F\\x7F'],
      ['é', '\\xE9'],
      ['日本', '\\u65e5\\u672c'],
    ];
    for (const [input, expected] of table)
      assert.equal(escapeLogValue(input), expected, JSON.stringify(input));
  });
});

describe('json format', () => {
  test('every field of the line, parsed back', async () => {
    let seenId = '';
    const lines = await logged(
      { fetch: () => Response.json({ ok: true }, { status: 201 }) },
      async (s) => {
        const res = await fetch(`${s.url}/j?x="y"`, {
          method: 'POST',
          body: 'ignored',
          headers: { 'user-agent': 'ua "quoted"', referer: 'r' },
        });
        await res.text();
        seenId = res.headers.get('x-request-id') ?? '';
      },
      {},
      'json',
    );
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(line).sort(), [
      'bytes',
      'method',
      'ms',
      'protocol',
      'referer',
      'remote',
      'requestId',
      'status',
      'time',
      'url',
      'userAgent',
    ]);
    assert.equal(line.remote, '127.0.0.1');
    assert.equal(line.method, 'POST');
    assert.equal(line.url, '/j?x=%22y%22');
    assert.equal(line.protocol, 'HTTP/1.1');
    assert.equal(line.status, 201);
    assert.equal(line.bytes, 11);
    assert.equal(line.userAgent, 'ua "quoted"');
    assert.equal(line.referer, 'r');
    assert.equal(line.requestId, seenId);
    assert.equal(typeof line.ms, 'number');
    assert.ok(Math.abs(Date.parse(line.time as string) - Date.now()) < 60_000);
  });
});

describe('what is logged', () => {
  test('a client that closes before the answer is logged as 499', async () => {
    let aborted = false;
    const lines = await logged(
      {
        fetch: (request) =>
          new Promise<Response>((resolve) => {
            request.signal.addEventListener('abort', () => {
              aborted = true;
              resolve(new Response('too late'));
            });
          }),
      },
      async (s) => {
        const socket = connect(s.port, '127.0.0.1');
        socket.on('error', () => {});
        socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
        await new Promise((r) => setTimeout(r, 50));
        socket.destroy();
        await waitFor(() => aborted, 2000, 'the app to see the abort');
      },
    );
    assert.equal(lines.length, 1);
    const line = parseCombined(lines[0]!);
    assert.equal(line.status, 499);
    assert.equal(line.bytes, 0);
    assert.equal(line.request, 'GET /slow HTTP/1.1');
  });

  const refusals: { name: string; options: ServeOptions; head: string; status: number }[] = [
    { name: 'deny list', options: { deny: ['127.0.0.1'] }, head: 'GET / HTTP/1.1\r\nHost: x', status: 403 },
    {
      name: 'body over maxBodySize',
      options: { maxBodySize: 10 },
      head: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11',
      status: 413,
    },
    {
      name: 'target over maxUrlLength',
      options: { maxUrlLength: 10 },
      head: `GET /${'a'.repeat(20)} HTTP/1.1\r\nHost: x`,
      status: 414,
    },
    {
      name: 'unknown Host',
      options: { allowedHosts: ['example.com'] },
      head: 'GET / HTTP/1.1\r\nHost: evil.test',
      status: 421,
    },
    {
      name: 'Expect other than 100-continue',
      options: {},
      head: 'GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot',
      status: 417,
    },
    {
      name: 'parser refusal (bad request line)',
      options: {},
      head: 'GET /\x01 HTTP/1.1\r\nHost: x',
      status: 400,
    },
    { name: 'parser refusal (unknown method)', options: {}, head: 'BREW / HTTP/1.1\r\nHost: x', status: 501 },
  ];
  for (const c of refusals) {
    test(`the server's own refusal is logged: ${c.status} (${c.name})`, async () => {
      const lines = await logged(
        hello,
        async (s) => {
          const r = await rawRequest(s.port, `${c.head}\r\n\r\n`);
          assert.equal(r.status, c.status, r.text);
        },
        c.options,
      );
      assert.equal(lines.length, 1);
      const line = parseCombined(lines[0]!);
      assert.equal(line.status, c.status);
      assert.equal(line.remote, '127.0.0.1');
    });
  }

  for (const c of [
    {
      name: 'a body too slow (requestTimeout)',
      data: 'POST /slow-body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab',
      request: 'POST /slow-body HTTP/1.1',
    },
    {
      name: 'headers too slow (headersTimeout)',
      data: 'GET /slow-head HTTP/1.1\r\nHost: x\r\n',
      request: '-',
    },
  ]) {
    test(`408 for ${c.name} is logged as 408, not as a client that left`, async () => {
      const lines = await logged(
        { fetch: async (r) => new Response(await r.text()) },
        async (s) => {
          const r = await rawRequest(s.port, c.data, { timeoutMs: 5000 });
          assert.equal(r.status, 408, r.text);
        },
        { requestTimeout: 300, headersTimeout: 300 },
      );
      assert.equal(lines.length, 1, lines.join('\n'));
      const line = parseCombined(lines[0]!);
      assert.equal(line.status, 408);
      assert.equal(line.request, c.request);
    });
  }

  test('503 over maxInFlight is logged beside the request it queued behind', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const lines = await logged(
      {
        fetch: async () => {
          await held;
          return new Response('done');
        },
      },
      async (s) => {
        const first = fetch(s.url);
        await new Promise((r) => setTimeout(r, 50));
        assert.equal((await fetch(s.url)).status, 503);
        release();
        assert.equal((await first).status, 200);
      },
      { maxInFlight: 1 },
    );
    assert.deepEqual(lines.map((l) => parseCombined(l).status).sort(), [200, 503]);
  });

  test('a node-style app is logged, bytes counted from its writes', async () => {
    const nodeApp = nodeHandler((_req: IncomingMessage, res: ServerResponse): void => {
      res.setHeader('content-type', 'text/plain');
      res.write('abc');
      res.end('defg');
    });
    let id = '';
    const lines = await logged(nodeApp, async (s) => {
      const res = await fetch(s.url);
      assert.equal(await res.text(), 'abcdefg');
      id = res.headers.get('x-request-id') ?? '';
    });
    const line = parseCombined(lines[0]!);
    assert.equal(line.status, 200);
    assert.equal(line.bytes, 7);
    assert.ok(id !== '');
    assert.equal(line.requestId, id);
  });

  test('static hits are logged with their size', async () => {
    const root = mkdtempSync(join(dir, 'static-'));
    writeFileSync(join(root, 'a.txt'), 'static body\n');
    const lines = await logged(
      hello,
      async (s) => {
        assert.equal(await (await fetch(`${s.url}/a.txt`)).text(), 'static body\n');
        assert.equal(await (await fetch(`${s.url}/app`)).text(), 'hello world');
      },
      { static: root },
    );
    assert.deepEqual(
      lines.map(parseCombined).map((l) => [l.request, l.status, l.bytes]),
      [
        ['GET /a.txt HTTP/1.1', 200, 12],
        ['GET /app HTTP/1.1', 200, 11],
      ],
    );
  });

  test("the app's requestId() middleware adopts the server's id: app, response and log agree", async () => {
    const app = new App();
    app.use(requestId());
    app.get('/', (c) => c.json({ id: c.get('requestId'), header: c.req.headers.get('x-request-id') }));
    let body: { id: string; header: string } = { id: '', header: '' };
    let sent = '';
    const lines = await logged(app, async (s) => {
      const res = await fetch(s.url);
      body = (await res.json()) as typeof body;
      sent = res.headers.get('x-request-id') ?? '';
    });
    const logged_ = parseCombined(lines[0]!).requestId;
    assert.equal(body.id, logged_);
    assert.equal(body.header, logged_);
    assert.equal(sent, logged_);
  });

  test('requestId: false writes "-" and sends no header', async () => {
    let header: string | null = 'unset';
    const lines = await logged(
      hello,
      async (s) => {
        header = (await fetch(s.url)).headers.get('x-request-id');
      },
      { accessLog: { requestId: false } },
    );
    assert.equal(header, null);
    assert.equal(parseCombined(lines[0]!).requestId, '-');
  });
});

describe('request ids', () => {
  // Sent by a peer in trustProxy (loopback here): taken only when well formed.
  const hostile: { name: string; id: string }[] = [
    { name: '10 KB', id: 'a'.repeat(10_240) },
    { name: '129 characters', id: 'b'.repeat(129) },
    { name: 'space', id: 'two words' },
    { name: 'quote', id: 'a"b' },
    { name: 'backslash', id: 'a\\b' },
    { name: 'tab', id: 'a\tb' },
    { name: 'non-ASCII (latin1 on the wire)', id: 'caf\xe9' },
  ];
  for (const c of hostile) {
    test(`a hostile incoming id is replaced, never echoed: ${c.name}`, async () => {
      let seen: string | null = null;
      let text = '';
      const lines = await logged(
        {
          fetch: (r, info) => Response.json({ header: r.headers.get('x-request-id'), info: info.requestId }),
        },
        async (s) => {
          const r = await rawRequest(
            s.port,
            Buffer.from(
              `GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${c.id}\r\nConnection: close\r\n\r\n`,
              'latin1',
            ),
            { timeoutMs: 5000 },
          );
          text = r.text;
          seen = /\r\nx-request-id: ([^\r]*)\r\n/i.exec(r.text)?.[1] ?? null;
        },
        { trustProxy: ['loopback'] },
      );
      assert.ok(seen !== null, text);
      assert.notEqual(seen, c.id);
      assert.ok(!text.includes(c.id), 'the hostile id appears nowhere in the response');
      assert.match(seen!, /^[0-9a-v]{12}-[0-9a-z]+$/);
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { header: string; info: string };
      assert.deepEqual(body, { header: seen, info: seen }, 'the app sees the replacement');
      assert.equal(parseCombined(lines[0]!).requestId, seen);
    });
  }

  for (const [name, id] of [
    ['CR', 'a\rb'],
    ['LF', 'a\nb'],
    ['NUL', 'a\x00b'],
    ['DEL', 'a\x7fb'],
  ] as const) {
    test(`${name} in an id never reaches the app: the parser refuses the request (400, logged)`, async () => {
      const lines = await logged(hello, async (s) => {
        const r = await rawRequest(s.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\n\r\n`);
        assert.equal(r.status, 400);
      });
      assert.equal(lines.length, 1);
      assert.equal(parseCombined(lines[0]!).status, 400);
    });
  }

  const trust: { name: string; options: ServeOptions; taken: boolean }[] = [
    { name: 'from a trusted proxy', options: { trustProxy: ['loopback'] }, taken: true },
    { name: 'from an untrusted peer', options: {}, taken: false },
    { name: 'from a peer outside trustProxy', options: { trustProxy: ['10.0.0.0/8'] }, taken: false },
    {
      name: "from anyone with trust: 'always'",
      options: { accessLog: { requestId: { trust: 'always' } } },
      taken: true,
    },
    {
      name: "never with trust: 'never', even from a trusted proxy",
      options: { trustProxy: ['loopback'], accessLog: { requestId: { trust: 'never' } } },
      taken: false,
    },
  ];
  for (const c of trust) {
    test(`a well-formed incoming id is ${c.taken ? 'taken' : 'replaced'} ${c.name}`, async () => {
      const incoming = '7f3c9b2e4d1a48c6b0e5f7a9c3d2e1b0';
      let sent = '';
      let appSaw = '';
      const lines = await logged(
        { fetch: (r) => new Response(r.headers.get('x-request-id')) },
        async (s) => {
          const res = await fetch(s.url, { headers: { 'x-request-id': incoming } });
          appSaw = await res.text();
          sent = res.headers.get('x-request-id') ?? '';
        },
        c.options,
      );
      assert.equal(sent === incoming, c.taken);
      assert.equal(appSaw, sent);
      assert.equal(parseCombined(lines[0]!).requestId, sent);
    });
  }

  test('a custom header name is read and written', async () => {
    let sent = '';
    const lines = await logged(
      hello,
      async (s) => {
        const res = await fetch(s.url, { headers: { 'x-correlation-id': 'corr-1' } });
        sent = res.headers.get('x-correlation-id') ?? '';
        assert.equal(res.headers.get('x-request-id'), null);
      },
      { trustProxy: ['loopback'], accessLog: { requestId: { header: 'X-Correlation-Id' } } },
    );
    assert.equal(sent, 'corr-1');
    assert.equal(parseCombined(lines[0]!).requestId, 'corr-1');
  });

  test('made ids: one prefix per generator, a counter, all distinct', () => {
    const gen = new RequestIdGenerator();
    const ids = Array.from({ length: 2000 }, () => gen.next());
    assert.equal(new Set(ids).size, ids.length);
    const prefix = ids[0]!.split('-')[0];
    assert.ok(ids.every((id) => id.startsWith(`${prefix}-`)));
    assert.notEqual(new RequestIdGenerator().next().split('-')[0], prefix);
  });

  test('isWellFormedRequestId: the table', () => {
    const table: [string, boolean][] = [
      ['7f3c9b2e4d1a48c6b0e5f7a9c3d2e1b0', true],
      ['123e4567-e89b-12d3-a456-426614174000', true],
      ['a:b.c_d/e+f=', true],
      ['x'.repeat(128), true],
      ['', false],
      ['x'.repeat(129), false],
      ['a b', false],
      ['a"b', false],
      ['a\\b', false],
      ['a\r\nb', false],
      ['é', false],
    ];
    for (const [id, ok] of table) assert.equal(isWellFormedRequestId(id), ok, JSON.stringify(id));
  });
});

describe('options', () => {
  test('docs/server.md shows the access log defaults the code uses', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'server.md'), 'utf8');
    const rows = new Map<string, string>();
    for (const m of doc.matchAll(/^\|\s*`([\w.]+)`\s*\|\s*`([^`]+)`\s*\|/gm)) rows.set(m[1]!, m[2]!);
    assert.equal(rows.get('format'), ACCESS_LOG_DEFAULTS.format);
    assert.equal(rows.get('destination'), ACCESS_LOG_DEFAULTS.destination);
    assert.equal(rows.get('requestId.header'), ACCESS_LOG_DEFAULTS.requestIdHeader);
    assert.equal(rows.get('requestId.trust'), ACCESS_LOG_DEFAULTS.requestIdTrust);
    assert.equal(rows.get('bufferSize'), String(ACCESS_LOG_DEFAULTS.bufferSize));
    assert.equal(rows.get('flushInterval'), String(ACCESS_LOG_DEFAULTS.flushInterval));
  });

  const bad: [string, unknown, RegExp][] = [
    ['format', { format: 'apache' }, /accessLog\.format/],
    ['destination', { destination: '' }, /accessLog\.destination/],
    ['header', { requestId: { header: 'bad header' } }, /accessLog\.requestId\.header/],
    ['trust', { requestId: { trust: 'sometimes' } }, /accessLog\.requestId\.trust/],
    ['bufferSize', { bufferSize: 1_048_577 }, /accessLog\.bufferSize/],
    ['flushInterval', { flushInterval: 0 }, /accessLog\.flushInterval/],
  ];
  for (const [name, value, message] of bad) {
    test(`a bad accessLog.${name} is refused at startup, naming it`, async () => {
      await assert.rejects(
        serve(hello, { port: 0, logger: false, accessLog: value as AccessLogOptions }),
        message,
      );
    });
  }

  test('a file that cannot be opened fails serve() with STRATA_ERR_ACCESS_LOG_OPEN and the path', async () => {
    const path = join(dir, 'no-such-dir', 'access.log');
    await assert.rejects(
      serve(hello, { port: 0, logger: false, accessLog: { destination: path } }),
      (err: Error) => {
        assert.equal((err as Error & { code: string }).code, 'STRATA_ERR_ACCESS_LOG_OPEN');
        assert.ok(err.message.includes(path));
        return true;
      },
    );
  });

  test('strata serve flags: --access-log [combined|json], --access-log-file', () => {
    const table: [string[], unknown][] = [
      [['app.ts'], undefined],
      [['app.ts', '--access-log'], { format: 'combined', destination: 'stdout' }],
      [['--access-log', 'app.ts'], { format: 'combined', destination: 'stdout' }],
      [['app.ts', '--access-log', 'json'], { format: 'json', destination: 'stdout' }],
      [['app.ts', '--access-log=json'], { format: 'json', destination: 'stdout' }],
      [['app.ts', '--access-log-file', '/tmp/a.log'], { format: 'combined', destination: '/tmp/a.log' }],
      [
        ['app.ts', '--access-log', 'json', '--access-log-file', '/tmp/a.log'],
        { format: 'json', destination: '/tmp/a.log' },
      ],
    ];
    for (const [args, expected] of table) {
      const flags = parseServeFlags(args, {});
      assert.ok(flags !== 'help');
      assert.equal(flags.module, 'app.ts');
      assert.deepEqual(flags.accessLog, expected, args.join(' '));
    }
    assert.throws(() => parseServeFlags(['app.ts', '--access-log=apache'], {}), /combined or json/);
  });
});

describe('buffering', () => {
  for (const c of [
    { name: 'bufferSize: 0 writes each line as it comes', options: { bufferSize: 0 } },
    { name: 'a buffered line is written within flushInterval', options: { flushInterval: 20 } },
    { name: 'a full buffer is written at once', options: { bufferSize: 100, flushInterval: 600_000 } },
  ]) {
    test(c.name, async () => {
      const file = join(dir, `buffering-${++files}.log`);
      const server = await serve(hello, {
        port: 0,
        logger: false,
        accessLog: { destination: file, ...c.options },
      });
      try {
        await (await fetch(`${server.url}/buffered`)).text();
        // Not flushed by close(): the line must reach the file while the server runs.
        await waitFor(() => readFileSync(file, 'utf8').includes('/buffered'), 5000, 'the line in the file');
      } finally {
        await server.close();
      }
    });
  }

  test('a line longer than the buffer is written whole, between its neighbours', async () => {
    const long = `/${'l'.repeat(8000)}`;
    const lines = await logged(hello, async (s) => {
      await (await fetch(`${s.url}/before`)).text();
      await (await fetch(`${s.url}${long}`)).text();
      await (await fetch(`${s.url}/after`)).text();
    });
    assert.deepEqual(
      lines.map((l) => parseCombined(l).request),
      ['GET /before HTTP/1.1', `GET ${long} HTTP/1.1`, 'GET /after HTTP/1.1'],
    );
  });

  test('JSON lines keep non-ASCII as UTF-8', async () => {
    const lines = await logged(
      hello,
      async (s) => {
        const r = await rawRequest(
          s.port,
          Buffer.from(
            'GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: caf\xe9\r\nConnection: close\r\n\r\n',
            'latin1',
          ),
        );
        assert.equal(r.status, 200);
      },
      {},
      'json',
    );
    assert.equal((JSON.parse(lines[0]!) as { userAgent: string }).userAgent, 'café');
  });

  test('lines held in the buffer are written by close()', async () => {
    const file = join(dir, `buffering-${++files}.log`);
    const server = await serve(hello, {
      port: 0,
      logger: false,
      accessLog: { destination: file, flushInterval: 600_000 },
    });
    for (let i = 0; i < 3; i++) await (await fetch(`${server.url}/held/${i}`)).text();
    assert.equal(readFileSync(file, 'utf8'), '', 'still buffered (under bufferSize, no flush yet)');
    await server.close();
    assert.equal(
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.includes('/held/')).length,
      3,
    );
  });
});

describe('strata serve', () => {
  test('--access-log json writes its lines to stdout beside the server log, flushed on SIGTERM', async (t) => {
    const cli = await startCli([FETCH_APP, '--access-log', 'json']);
    t.after(() => {
      if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    });
    const url = cli.url;
    const res = await fetch(`${url}/hello?from=cli`, { headers: { 'user-agent': 'cli-test' } });
    assert.equal(res.status, 200);
    assert.equal(await stopCli(cli.child), 0);
    const out = cli.stdout();
    const access = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => 'status' in l && 'requestId' in l);
    assert.equal(access.length, 1, out);
    assert.equal(access[0]!.url, '/hello?from=cli');
    assert.equal(access[0]!.userAgent, 'cli-test');
    assert.equal(access[0]!.requestId, res.headers.get('x-request-id'));
  });
});

describe('file rotation', () => {
  test('SIGUSR1 reopens the file: after a rename, new lines go to a new file (strata serve)', async (t) => {
    const file = join(dir, 'rotated.log');
    const cli = await startCli([FETCH_APP, '--access-log-file', file]);
    const child = cli.child;
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const url = cli.url;

    assert.equal((await fetch(`${url}/before`)).status, 200);
    await waitFor(() => readFileSync(file, 'utf8').includes('/before'), 5000, 'the first line');
    renameSync(file, `${file}.1`);
    // Before the signal, the server still writes to the renamed file (it holds it open).
    assert.equal((await fetch(`${url}/between`)).status, 200);
    await waitFor(() => readFileSync(`${file}.1`, 'utf8').includes('/between'), 5000, 'the second line');
    child.kill('SIGUSR1');
    // The reopen is asynchronous: send requests until one lands in the new file.
    let n = 0;
    await waitFor(
      () => {
        let text = '';
        try {
          text = readFileSync(file, 'utf8');
        } catch {}
        if (text.includes('/after')) return true;
        void fetch(`${url}/after${n++}`).catch(() => {});
        return false;
      },
      5000,
      'a line in the new file',
    );
    await stopCli(child);
    const old = readFileSync(`${file}.1`, 'utf8');
    const fresh = readFileSync(file, 'utf8');
    assert.match(old, /"GET \/before HTTP\/1.1" 200/);
    assert.match(old, /"GET \/between HTTP\/1.1" 200/);
    assert.doesNotMatch(fresh, /\/before|\/between/);
    assert.match(fresh, /"GET \/after\d+ HTTP\/1.1" 200/);
    for (const line of `${old}${fresh}`.split('\n').filter((l) => l !== '')) parseCombined(line);
  });

  test('SIGUSR1 to the primary under --workers: every worker reopens the file (and the primary opens no inspector)', async (t) => {
    const file = join(dir, 'rotated-workers.log');
    const primary = await startPrimary(['--workers', '2', '--access-log-file', file], FETCH_APP);
    t.after(() => primary.killGroup());
    const url = primary.url;
    for (let i = 0; i < 6; i++)
      assert.equal((await fetch(`${url}/before${i}`, { headers: { connection: 'close' } })).status, 200);
    await waitFor(() => readFileSync(file, 'utf8').includes('/before5'), 5000, 'the first lines');
    renameSync(file, `${file}.1`);
    primary.signal('SIGUSR1');
    // The reopen is asynchronous: wait for a first line in the new file.
    let n = 0;
    const fresh = (): string => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return '';
      }
    };
    await waitFor(
      () => {
        if (fresh().includes('/after')) return true;
        void fetch(`${url}/after${n++}`, { headers: { connection: 'close' } }).catch(() => {});
        return false;
      },
      8000,
      'a line in the new file',
    );
    await new Promise((r) => setTimeout(r, 300));
    // Then every request, whichever worker takes it (fresh connections are dealt in turn), lands
    // in the new file: a worker that had not reopened would still write to the renamed one.
    for (let i = 0; i < 6; i++)
      assert.equal((await fetch(`${url}/final${i}`, { headers: { connection: 'close' } })).status, 200);
    await waitFor(() => (fresh().match(/\/final\d/g) ?? []).length === 6, 5000, 'six lines in the new file');
    assert.doesNotMatch(readFileSync(`${file}.1`, 'utf8'), /\/final/);
    assert.equal(primary.child.exitCode, null, 'the primary is still running');
    primary.signal('SIGTERM');
    assert.equal((await primary.exited).code, 0);
    assert.doesNotMatch(primary.stderr(), /Debugger listening/);
  });
});
