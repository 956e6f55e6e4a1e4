import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DECLINE,
  INCOMPLETE,
  parseRequestHead,
  type RequestHead,
} from '../../../src/server/h1/request-head.ts';
import { llhttp } from '../../fixtures/llhttp.ts';

const MAX = 16_384;

function fresh(): RequestHead {
  return { method: '', url: '', rawHeaders: [], minor: 1, close: false, bodyLength: 0 };
}

function bytes(text: string | Buffer): Buffer {
  return typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
}

/** Parses `text` from offset 0; returns the result code and what was read. */
function parse(text: string | Buffer, max = MAX, start = 0): { next: number; head: RequestHead } {
  const head = fresh();
  const next = parseRequestHead(bytes(text), start, max, head);
  return { next, head };
}

/** Parses and asserts success, returning the head (and checking the offset is the end of the head). */
function accepted(text: string): RequestHead {
  const { next, head } = parse(text);
  assert.equal(next, Buffer.byteLength(text, 'latin1'), `accepted, up to the end: ${JSON.stringify(text)}`);
  return head;
}

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------
// A straightforward reading of a plain request head, for the fuzz: undefined when the head is
// not one the lane should take (RFC 9112 strictly, plus the lane's own narrower rules).

const LANE_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ORIGIN_FORM = /^\/[-._~!$&'()*+,;=:@/?%[\]0-9A-Za-z]*$/;
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;

interface Reading extends RequestHead {
  next: number;
}

function reference(buf: Buffer, start: number, max: number): Reading | undefined {
  const text = buf.toString('latin1', start);
  const end = text.indexOf('\r\n\r\n');
  if (end === -1 || end + 4 > max) return undefined;
  const lines = text.slice(0, end).split('\r\n');
  const requestLine = lines.shift()!.split(' ');
  if (requestLine.length !== 3) return undefined;
  const [method, url, version] = requestLine as [string, string, string];
  if (!LANE_METHODS.has(method) || !ORIGIN_FORM.test(url)) return undefined;
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') return undefined;
  const minor = version === 'HTTP/1.1' ? 1 : 0;
  const rawHeaders: string[] = [];
  const connection: string[] = [];
  let hosts = 0;
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon === -1) return undefined;
    const name = line.slice(0, colon);
    const raw = line.slice(colon + 1);
    if (!TOKEN.test(name) || !FIELD_VALUE.test(raw)) return undefined;
    const value = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    const lower = name.toLowerCase();
    if (['content-length', 'transfer-encoding', 'upgrade', 'expect'].includes(lower)) return undefined;
    if (lower === 'host') {
      // host[:port], the host in DNS characters, the port up to 65535 (else node's path decides).
      const m = /^[A-Za-z0-9._~-]+(?::([0-9]{0,5}))?$/.exec(value);
      if (m === null || Number(m[1] ?? 0) > 65535) return undefined;
      hosts += 1;
    }
    if (lower === 'connection') {
      for (const part of value.toLowerCase().split(',')) {
        const option = part.trim();
        if (option === '') continue;
        if (option !== 'close' && option !== 'keep-alive') return undefined;
        connection.push(option);
      }
    }
    rawHeaders.push(name, value);
  }
  if (hosts > 1 || (minor === 1 && hosts === 0)) return undefined;
  // RFC 9112 §9.3: close wins; HTTP/1.0 persists only with keep-alive.
  const close = connection.includes('close') || (minor === 0 && !connection.includes('keep-alive'));
  return { method, url, rawHeaders, minor, close, bodyLength: 0, next: start + end + 4 };
}

// ---------------------------------------------------------------------------------------------

describe('parseRequestHead: accepted requests', () => {
  test('a plain GET: method, url, headers as sent, HTTP/1.1, keep-alive, offset past the blank line', () => {
    const text = 'GET /a/b?c=d&e=%20f HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n';
    const { next, head } = parse(text);
    assert.equal(next, text.length);
    assert.deepEqual(head, {
      method: 'GET',
      url: '/a/b?c=d&e=%20f',
      rawHeaders: ['Host', 'example.com', 'Accept', '*/*'],
      minor: 1,
      close: false,
      bodyLength: 0,
    });
  });

  test('each of the seven usual methods is read', () => {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      const head = accepted(`${method} /m HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.equal(head.method, method);
      assert.equal(head.url, '/m');
    }
  });

  test('names keep their case, values are trimmed of SP and HTAB but keep inner whitespace', () => {
    const head = accepted(
      'GET / HTTP/1.1\r\nhOsT: x\r\nX-Spaces:   a  b   \r\nX-Tabs:\t\ta\tb\t \r\nX-None:c\r\nX-Empty:\r\nX-Blank: \t \r\n\r\n',
    );
    assert.deepEqual(head.rawHeaders, [
      'hOsT',
      'x',
      'X-Spaces',
      'a  b',
      'X-Tabs',
      'a\tb',
      'X-None',
      'c',
      'X-Empty',
      '',
      'X-Blank',
      '',
    ]);
  });

  test('repeated headers are all kept, in order', () => {
    const head = accepted('GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nX-A: 1\r\nCookie: b=2\r\n\r\n');
    assert.deepEqual(head.rawHeaders, ['Host', 'x', 'Cookie', 'a=1', 'X-A', '1', 'Cookie', 'b=2']);
  });

  test('header names may use every tchar, values every VCHAR', () => {
    const name = "!#$%&'*+-.^_`|~09azAZ";
    const value = '!"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~';
    const head = accepted(`GET / HTTP/1.1\r\nHost: x\r\n${name}: ${value}\r\n\r\n`);
    assert.deepEqual(head.rawHeaders, ['Host', 'x', name, value]);
  });

  test('a target made of every allowed origin-form byte is read whole', () => {
    const target = "/-._~!$&'()*+,;=:@/?%41[]09azAZ";
    assert.equal(accepted(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`).url, target);
    assert.equal(accepted('GET / HTTP/1.1\r\nHost: x\r\n\r\n').url, '/');
    assert.equal(accepted('GET //double HTTP/1.1\r\nHost: x\r\n\r\n').url, '//double');
  });

  test('HTTP/1.0: minor 0, no Host needed, closes by default', () => {
    const head = accepted('GET /old HTTP/1.0\r\n\r\n');
    assert.equal(head.minor, 0);
    assert.equal(head.close, true);
    assert.deepEqual(head.rawHeaders, []);
    assert.equal(accepted('GET /old HTTP/1.0\r\nHost: x\r\n\r\n').minor, 0);
  });

  test('the close flag follows Connection and the version', () => {
    const cases: [string, string, boolean][] = [
      ['1.1', '', false],
      ['1.1', 'Connection: close\r\n', true],
      ['1.1', 'Connection: CLOSE\r\n', true],
      ['1.1', 'connection:   Close  \r\n', true],
      ['1.1', 'Connection: keep-alive\r\n', false],
      ['1.1', 'Connection: Keep-Alive\r\n', false],
      ['1.1', 'Connection: keep-alive, close\r\n', true],
      ['1.1', 'Connection: close, keep-alive\r\n', true],
      ['1.1', 'Connection: keep-alive,close\r\n', true],
      ['1.1', 'Connection: ,close,\r\n', true],
      ['1.1', 'Connection: keep-alive\t,\tclose\r\n', true],
      ['1.1', 'Connection: \r\n', false],
      ['1.1', 'Connection: keep-alive\r\nConnection: close\r\n', true],
      ['1.1', 'Connection: close\r\nConnection: keep-alive\r\n', true],
      ['1.0', '', true],
      ['1.0', 'Connection: keep-alive\r\n', false],
      ['1.0', 'Connection: KEEP-ALIVE\r\n', false],
      ['1.0', 'Connection: close\r\n', true],
      ['1.0', 'Connection: keep-alive, close\r\n', true],
      ['1.0', 'Connection: close, keep-alive\r\n', true],
      ['1.0', 'Connection: keep-alive\r\nConnection: close\r\n', true],
      ['1.0', 'Connection: \r\n', true],
    ];
    for (const [version, lines, close] of cases) {
      const text = `GET / HTTP/${version}\r\nHost: x\r\n${lines}\r\n`;
      const head = accepted(text);
      assert.equal(head.close, close, JSON.stringify(text));
      assert.equal(head.minor, version === '1.1' ? 1 : 0);
    }
  });

  test('HTTP/1.0 with `Connection: close` and `Connection: keep-alive` lines closes (close wins)', () => {
    const head = accepted('GET / HTTP/1.0\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n');
    assert.equal(head.close, true);
    assert.equal(
      accepted('GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n').close,
      true,
    );
  });

  test('pipelined requests in one buffer parse one after another from the returned offsets', () => {
    const a = 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n';
    const b = 'HEAD /b HTTP/1.1\r\nHost: y\r\nConnection: close\r\n\r\n';
    const c = 'DELETE /c?q HTTP/1.0\r\nConnection: keep-alive\r\n\r\n';
    const buf = Buffer.from(a + b + c, 'latin1');
    const head = fresh();
    let at = parseRequestHead(buf, 0, MAX, head);
    assert.equal(at, a.length);
    assert.deepEqual([head.method, head.url, head.close], ['GET', '/a', false]);
    at = parseRequestHead(buf, at, MAX, head);
    assert.equal(at, a.length + b.length);
    assert.deepEqual([head.method, head.url, head.close, head.rawHeaders[1]], ['HEAD', '/b', true, 'y']);
    at = parseRequestHead(buf, at, MAX, head);
    assert.equal(at, buf.length);
    assert.deepEqual([head.method, head.url, head.minor, head.close], ['DELETE', '/c?q', 0, false]);
    assert.equal(parseRequestHead(buf, at, MAX, head), INCOMPLETE, 'nothing left: incomplete');
  });

  test('a complete request followed by a partial one: the first is read, the rest is incomplete', () => {
    const a = 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n';
    const buf = Buffer.from(`${a}GET /b HTTP/1.1\r\nHo`, 'latin1');
    const head = fresh();
    assert.equal(parseRequestHead(buf, 0, MAX, head), a.length);
    assert.equal(head.url, '/a');
    assert.equal(parseRequestHead(buf, a.length, MAX, head), INCOMPLETE);
  });

  test('a request followed by a declined one: the first is read, the second declined', () => {
    const a = 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n';
    const buf = Buffer.from(`${a}POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz`, 'latin1');
    const head = fresh();
    assert.equal(parseRequestHead(buf, 0, MAX, head), a.length);
    assert.equal(parseRequestHead(buf, a.length, MAX, head), DECLINE);
  });

  test('a head of exactly maxHeaderSize bytes is accepted, counted from the start offset', () => {
    const base = 'GET / HTTP/1.1\r\nHost: x\r\nX: \r\n\r\n';
    const size = 200;
    const text = base.replace('X: ', `X: ${'v'.repeat(size - base.length)}`);
    assert.equal(text.length, size);
    assert.equal(parse(text, size).next, size);
    assert.equal(parse(text, size - 1).next, DECLINE);
    const prefix = 'GET /p HTTP/1.1\r\nHost: x\r\n\r\n';
    assert.equal(parse(prefix + text, size, prefix.length).next, prefix.length + size);
  });

  test('the output object is overwritten by each parse, with a new rawHeaders array', () => {
    const head = fresh();
    const one = Buffer.from('GET /1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const two = Buffer.from('PUT /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    parseRequestHead(one, 0, MAX, head);
    const first = head.rawHeaders;
    parseRequestHead(two, 0, MAX, head);
    assert.deepEqual(first, ['Host', 'a', 'Connection', 'close'], 'the first array is not reused');
    assert.deepEqual(head, {
      method: 'PUT',
      url: '/2',
      rawHeaders: ['Connection', 'keep-alive'],
      minor: 0,
      close: false,
      bodyLength: 0,
    });
  });

  test('a declined parse leaves the output as it was', () => {
    const head = fresh();
    parseRequestHead(Buffer.from('GET /1 HTTP/1.1\r\nHost: a\r\n\r\n'), 0, MAX, head);
    const before = structuredClone(head);
    parseRequestHead(Buffer.from('GET /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n'), 0, MAX, head);
    assert.deepEqual(head, before);
  });
});

describe('parseRequestHead: declined shapes', () => {
  const H = 'GET / HTTP/1.1\r\nHost: x\r\n';
  const declined: [string, string | Buffer][] = [
    // Bodies and framing, every spelling.
    ['Content-Length: 0', `${H}Content-Length: 0\r\n\r\n`],
    ['Content-Length: 5', `${H}Content-Length: 5\r\n\r\nhello`],
    ['content-length lowercase', `${H}content-length: 1\r\n\r\n`],
    ['CONTENT-LENGTH upper case', `${H}CONTENT-LENGTH: 1\r\n\r\n`],
    ['Content-Length not a number', `${H}Content-Length: abc\r\n\r\n`],
    ['Content-Length negative', `${H}Content-Length: -1\r\n\r\n`],
    ['two Content-Lengths', `${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\n`],
    ['Content-Length with space before colon', `${H}Content-Length : 1\r\n\r\n`],
    ['Transfer-Encoding: chunked', `${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
    ['Transfer-Encoding: ChUnKeD', `${H}Transfer-Encoding: ChUnKeD\r\n\r\n`],
    ['transfer-encoding lower case', `${H}transfer-encoding: chunked\r\n\r\n`],
    ['TRANSFER-ENCODING upper case', `${H}TRANSFER-ENCODING: chunked\r\n\r\n`],
    ['Transfer-Encoding : chunked (space before colon)', `${H}Transfer-Encoding : chunked\r\n\r\n`],
    ['Transfer-Encoding with tab before colon', `${H}Transfer-Encoding\t: chunked\r\n\r\n`],
    ['Transfer-Encoding: gzip, chunked', `${H}Transfer-Encoding: gzip, chunked\r\n\r\n`],
    ['Transfer-Encoding: identity', `${H}Transfer-Encoding: identity\r\n\r\n`],
    ['Transfer-Encoding empty', `${H}Transfer-Encoding:\r\n\r\n`],
    ['CL and TE', `${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n`],
    ['TE and CL', `${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n`],
    // Protocol switches and expectations.
    ['Upgrade', `${H}Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n`],
    ['Upgrade alone', `${H}Upgrade: h2c\r\n\r\n`],
    ['upgrade lower case', `${H}upgrade: websocket\r\n\r\n`],
    ['Connection: upgrade alone', `${H}Connection: upgrade\r\n\r\n`],
    ['Connection: keep-alive, Upgrade', `${H}Connection: keep-alive, Upgrade\r\n\r\n`],
    ['Connection: TE', `${H}Connection: TE\r\n\r\n`],
    // Not OWS, so not `close` (llhttp reads another option): never trimmed away.
    ['Connection: close and NBSP', `${H}Connection: close\u00a0\r\n\r\n`],
    ['Connection: close and VT', `${H}Connection: close\u000b\r\n\r\n`],
    ['Connection: close and FF', `${H}Connection: close\u000c\r\n\r\n`],
    ['Connection: x-custom', `${H}Connection: x-custom\r\n\r\n`],
    ['Connection: "close"', `${H}Connection: "close"\r\n\r\n`],
    ['Connection: close; x', `${H}Connection: close;x\r\n\r\n`],
    ['Expect: 100-continue', `${H}Expect: 100-continue\r\n\r\n`],
    ['Expect: other', `${H}expect: something\r\n\r\n`],
    // Line structure.
    ['obs-fold with SP', `${H}X-A: 1\r\n continued\r\n\r\n`],
    ['obs-fold with HTAB', `${H}X-A: 1\r\n\tcontinued\r\n\r\n`],
    ['obs-fold right after the request line', 'GET / HTTP/1.1\r\n Host: x\r\n\r\n'],
    ['bare LF after the request line', 'GET / HTTP/1.1\nHost: x\r\n\r\n'],
    ['bare LF ending a header', `${H}X-A: 1\nX-B: 2\r\n\r\n`],
    ['bare LF line ends throughout (with a CRLFCRLF later)', 'GET / HTTP/1.1\nHost: x\n\r\n\r\n'],
    ['bare CR ending a header', `${H}X-A: 1\rX-B: 2\r\n\r\n`],
    ['bare CR in the request line', 'GET / HTTP/1.1\rHost: x\r\n\r\n'],
    ['CR CR LF', `${H}X-A: 1\r\r\n\r\n`],
    ['a line without a colon', `${H}NoColonHere\r\n\r\n`],
    ['an empty header name', `${H}: value\r\n\r\n`],
    ['a space in a header name', `${H}X Bad: 1\r\n\r\n`],
    ['space before the colon', `${H}X-A : 1\r\n\r\n`],
    ['a quote in a header name', `${H}X"A: 1\r\n\r\n`],
    ['a slash in a header name', `${H}X/A: 1\r\n\r\n`],
    ['leading CRLF before the request line', `\r\n${H}\r\n`],
    ['leading LF before the request line', `\n${H}\r\n`],
    ['leading space before the request line', ` ${H}\r\n`],
    // Bytes.
    ['NUL in a value', `${H}X-A: a\x00b\r\n\r\n`],
    ['\\x01 in a value', `${H}X-A: a\x01b\r\n\r\n`],
    ['\\x1f in a value', `${H}X-A: a\x1fb\r\n\r\n`],
    ['DEL in a value', `${H}X-A: a\x7fb\r\n\r\n`],
    ['VT in a value', `${H}X-A: a\x0bb\r\n\r\n`],
    ['FF in a value', `${H}X-A: a\x0cb\r\n\r\n`],
    ['NUL in a name', `${H}X\x00A: 1\r\n\r\n`],
    [
      '0x80 in a value',
      Buffer.concat([Buffer.from(`${H}X-A: a`), Buffer.from([0x80]), Buffer.from('\r\n\r\n')]),
    ],
    [
      '0xff in a value',
      Buffer.concat([Buffer.from(`${H}X-A: `), Buffer.from([0xff]), Buffer.from('\r\n\r\n')]),
    ],
    ['UTF-8 in a value', Buffer.from(`${H}X-A: café\r\n\r\n`, 'utf8')],
    [
      '0xe9 in a name',
      Buffer.concat([Buffer.from(`${H}X-`), Buffer.from([0xe9]), Buffer.from(': 1\r\n\r\n')]),
    ],
    [
      '0x80 in the target',
      Buffer.concat([
        Buffer.from('GET /a'),
        Buffer.from([0x80]),
        Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n'),
      ]),
    ],
    ['UTF-8 in the target', Buffer.from('GET /café HTTP/1.1\r\nHost: x\r\n\r\n', 'utf8')],
    ['NUL in the target', 'GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['HTAB in the target', 'GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n'],
    // Host.
    ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n'],
    ['HTTP/1.1 without any header', 'GET / HTTP/1.1\r\n\r\n'],
    ['two Host headers', `${H}Host: y\r\n\r\n`],
    ['two Host headers, same value', `${H}host: x\r\n\r\n`],
    ['two Host headers in HTTP/1.0', 'GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n'],
    // Targets.
    ['absolute-form target', 'GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['authority-form target', 'GET x:80 HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['asterisk-form target', 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['empty target', 'GET  HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a # in the target', 'GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a " in the target', 'GET /a"b HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a < in the target', 'GET /a<b HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a > in the target', 'GET /a>b HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a { in the target', 'GET /a{b} HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a backslash in the target', 'GET /a\\b HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a ^ in the target', 'GET /a^b HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a | in the target', 'GET /a|b HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a backtick in the target', 'GET /a`b HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a space in the target', 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['two spaces after the method', 'GET  / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['two spaces before the version', 'GET /  HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['HTAB instead of SP', 'GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n'],
    // Methods.
    ['lowercase get', 'get / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['mixed case Get', 'Get / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['CONNECT', 'CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['TRACE', 'TRACE / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['PRI (the HTTP/2 preface)', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
    ['PRI with an origin-form target', 'PRI / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['PROPFIND', 'PROPFIND / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['an unknown method', 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['GETX (a longer method)', 'GETX / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['GE (a shorter method)', 'GE / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['POSTS', 'POSTS / HTTP/1.1\r\nHost: x\r\n\r\n'],
    // Versions.
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: x\r\n\r\n'],
    ['HTTP/1.2', 'GET / HTTP/1.2\r\nHost: x\r\n\r\n'],
    ['HTTP/1.9', 'GET / HTTP/1.9\r\nHost: x\r\n\r\n'],
    ['HTTP/0.9', 'GET / HTTP/0.9\r\nHost: x\r\n\r\n'],
    ['HTTP/1.10', 'GET / HTTP/1.10\r\nHost: x\r\n\r\n'],
    ['HTTP/1.1 with a trailing space', 'GET / HTTP/1.1 \r\nHost: x\r\n\r\n'],
    ['HTTP/1.1 with a trailing tab', 'GET / HTTP/1.1\t\r\nHost: x\r\n\r\n'],
    ['lowercase http/1.1', 'GET / http/1.1\r\nHost: x\r\n\r\n'],
    ['HTTP/1', 'GET / HTTP/1\r\nHost: x\r\n\r\n'],
    ['no version (HTTP/0.9 style)', 'GET /\r\nHost: x\r\n\r\n'],
    ['HTTPS/1.1', 'GET / HTTPS/1.1\r\nHost: x\r\n\r\n'],
  ];

  for (const [name, text] of declined) {
    test(`declines ${name}`, () => {
      const { next, head } = parse(text);
      assert.equal(
        next,
        DECLINE,
        `${JSON.stringify(bytes(text).toString('latin1'))} read as ${JSON.stringify(head)}`,
      );
    });
  }

  test('the declined shapes are declined also after an accepted request (non-zero start)', () => {
    const first = 'GET /first HTTP/1.1\r\nHost: x\r\n\r\n';
    for (const [name, text] of declined) {
      const buf = Buffer.concat([Buffer.from(first), bytes(text)]);
      const head = fresh();
      assert.equal(parseRequestHead(buf, 0, MAX, head), first.length);
      assert.equal(parseRequestHead(buf, first.length, MAX, head), DECLINE, name);
    }
  });

  test('a complete head larger than maxHeaderSize is declined (llhttp answers 431)', () => {
    const text = `${H}X-Big: ${'a'.repeat(500)}\r\n\r\n`;
    assert.equal(parse(text, 400).next, DECLINE);
    assert.equal(parse(text, text.length).next, text.length, 'the same head within the limit is read');
  });

  test('an incomplete head already larger than maxHeaderSize is declined, not incomplete', () => {
    const text = `${H}X-Big: ${'a'.repeat(500)}`;
    assert.equal(parse(text, 400).next, DECLINE);
    assert.equal(parse(text, text.length).next, INCOMPLETE, 'at the limit, it may still complete');
    assert.equal(parse(text, text.length - 1).next, DECLINE);
  });
});

describe('parseRequestHead: truncated heads', () => {
  const requests = [
    'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nConnection: close\r\n\r\n',
    'DELETE /d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
    'OPTIONS /o HTTP/1.1\r\nhost: x\r\nX-Empty:\r\nX-Ws: \t v \t\r\n\r\n',
  ];

  test('every prefix shorter than the head is incomplete, never a success', () => {
    for (const text of requests) {
      const full = Buffer.from(text, 'latin1');
      for (let n = 0; n < full.length; n++) {
        const { next } = parse(full.subarray(0, n));
        assert.ok(next < 0, `prefix ${n} of ${JSON.stringify(text)} was read (${next})`);
        assert.equal(next, INCOMPLETE, `prefix ${n} of ${JSON.stringify(text)}`);
      }
      assert.equal(parse(full).next, full.length);
    }
  });

  test('every prefix of a second pipelined request is incomplete once the first is read', () => {
    const first = requests[0]!;
    for (const text of requests) {
      const full = Buffer.from(first + text, 'latin1');
      for (let n = first.length; n < full.length; n++) {
        const head = fresh();
        const buf = full.subarray(0, n);
        assert.equal(parseRequestHead(buf, 0, MAX, head), first.length);
        assert.equal(parseRequestHead(buf, first.length, MAX, head), INCOMPLETE, `prefix ${n}`);
      }
    }
  });

  test('a prefix of a declined request is never a success either', () => {
    const text = 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello';
    const full = Buffer.from(text, 'latin1');
    for (let n = 0; n <= full.length; n++) {
      const { next } = parse(full.subarray(0, n));
      assert.ok(next === INCOMPLETE || next === DECLINE, `prefix ${n}: ${next}`);
    }
  });
});

describe('parseRequestHead: fuzz', () => {
  // mulberry32: a small seeded generator, so a failure reproduces.
  function random(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const seeds = [
    'GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nX-A:  v  \r\n\r\n',
    'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n',
    'GET /p HTTP/1.0\r\nConnection: keep-alive\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n',
    'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc',
    'GET /y HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'OPTIONS /z HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n',
  ];
  const interesting = [0, 9, 10, 13, 32, 34, 35, 44, 47, 58, 63, 127, 128, 255, 0x41, 0x61];

  function mutate(rand: () => number, input: Buffer): Buffer {
    let buf = Buffer.from(input);
    const edits = 1 + Math.floor(rand() * 3);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(rand() * (buf.length + 1));
      const byte =
        rand() < 0.5 ? interesting[Math.floor(rand() * interesting.length)]! : Math.floor(rand() * 256);
      switch (Math.floor(rand() * 6)) {
        case 0: // replace a byte
          if (at < buf.length) buf[at] = byte;
          break;
        case 1: // insert a byte
          buf = Buffer.concat([buf.subarray(0, at), Buffer.from([byte]), buf.subarray(at)]);
          break;
        case 2: // delete a byte
          buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1)]);
          break;
        case 3: // flip the case of a letter
          if (at < buf.length && /[a-z]/i.test(String.fromCharCode(buf[at]!))) buf[at] = buf[at]! ^ 0x20;
          break;
        case 4: // duplicate a slice
          {
            const len = Math.floor(rand() * 12);
            buf = Buffer.concat([
              buf.subarray(0, at + len),
              buf.subarray(at, at + len),
              buf.subarray(at + len),
            ]);
          }
          break;
        default: // truncate
          buf = buf.subarray(0, at);
      }
    }
    return buf;
  }

  test('random mutations never throw, and what is accepted reads as the reference and llhttp read it', () => {
    const rand = random(0x5eed);
    let accepts = 0;
    for (let i = 0; i < 20_000; i++) {
      const input = mutate(rand, Buffer.from(seeds[i % seeds.length]!, 'latin1'));
      const max = rand() < 0.1 ? 1 + Math.floor(rand() * 120) : MAX;
      const head = fresh();
      const next = parseRequestHead(input, 0, max, head);
      const shown = JSON.stringify(input.toString('latin1'));
      assert.ok(next === INCOMPLETE || next === DECLINE || (next > 0 && next <= input.length), shown);
      const ref = reference(input, 0, max);
      if (next < 0) {
        if (next === INCOMPLETE) assert.equal(input.indexOf('\r\n\r\n'), -1, `incomplete: ${shown}`);
        continue;
      }
      accepts += 1;
      assert.ok(ref !== undefined, `accepted what the reference declines: ${shown}`);
      assert.deepEqual(
        {
          next,
          method: head.method,
          url: head.url,
          rawHeaders: head.rawHeaders,
          minor: head.minor,
          close: head.close,
        },
        {
          next: ref.next,
          method: ref.method,
          url: ref.url,
          rawHeaders: ref.rawHeaders,
          minor: ref.minor,
          close: ref.close,
        },
        shown,
      );
      // node's parser reads the same head the same way, and sees no body after it.
      const ll = llhttp(input.subarray(0, next));
      assert.equal(ll.error, undefined, `llhttp refuses what the lane accepted: ${shown}`);
      assert.equal(ll.messages.length, 1, shown);
      assert.equal(ll.completed, 1, `llhttp expects a body: ${shown}`);
      const m = ll.messages[0]!;
      assert.deepEqual(
        {
          method: m.method,
          url: m.url,
          rawHeaders: m.rawHeaders,
          major: m.major,
          minor: m.minor,
          upgrade: m.upgrade,
        },
        {
          method: head.method,
          url: head.url,
          rawHeaders: head.rawHeaders,
          major: 1,
          minor: head.minor,
          upgrade: false,
        },
        shown,
      );
      if (!head.close)
        assert.equal(m.keepAlive, true, `the lane keeps alive what llhttp would close: ${shown}`);
    }
    assert.ok(accepts > 500, `the fuzz reached accepted inputs (${accepts})`);
  });

  test('what the reference accepts is accepted too (the lane declines no plain request)', () => {
    const rand = random(0xbeef);
    let plain = 0;
    for (let i = 0; i < 20_000; i++) {
      const input = mutate(rand, Buffer.from(seeds[i % 3]!, 'latin1'));
      const ref = reference(input, 0, MAX);
      if (ref === undefined) continue;
      plain += 1;
      const { next, head } = parse(input);
      assert.equal(next, ref.next, JSON.stringify(input.toString('latin1')));
      assert.equal(head.url, ref.url);
    }
    assert.ok(plain > 500, `the fuzz reached plain inputs (${plain})`);
  });

  test('the declined table and every seed agree with llhttp where llhttp refuses: never accepted', () => {
    // A spot check of the oracle itself: heads llhttp refuses outright are never read.
    for (const text of [
      'GET / HTTP/1.1\nHost: x\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\n X: folded\r\n\r\n',
      'get / HTTP/1.1\r\nHost: x\r\n\r\n',
    ]) {
      assert.notEqual(
        llhttp(Buffer.from(text, 'latin1')).error,
        undefined,
        `llhttp refuses ${JSON.stringify(text)}`,
      );
      assert.equal(parse(text).next, DECLINE);
    }
  });
});
