/**
 * The ClientHello reader of the TLS-ALPN-01 front (src/server/acme/client-hello.ts) under hostile
 * bytes: real hellos read right at every cut, hostile length fields and duplicates refused, and a
 * seeded fuzz (truncations, byte flips, random records) that never throws and never reads a name
 * that is not a host name. And the front given junk while a challenge is pending.
 */
import assert from 'node:assert/strict';
import { type AddressInfo, createServer as createNetServer, connect as netConnect } from 'node:net';
import { test } from 'node:test';
import { connect } from 'node:tls';
import { readClientHello } from '../../src/server/acme/client-hello.ts';
import { tlsAlpnFront } from '../../src/server/acme/tls-alpn.ts';
import { fuzz } from '../fixtures/fuzz.ts';

/** The first bytes node's TLS client sends for this SNI and ALPN list. */
function captureHello(servername: string, alpn: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = createNetServer((socket) => {
      let seen = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        seen = Buffer.concat([seen, chunk]);
        if (seen.length >= 5 && seen.length >= 5 + seen.readUInt16BE(3)) {
          socket.destroy();
          server.close();
          resolve(seen.subarray(0, 5 + seen.readUInt16BE(3)));
        }
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const client = connect({
        port: (server.address() as AddressInfo).port,
        host: '127.0.0.1',
        servername,
        ALPNProtocols: alpn,
      });
      client.on('error', () => {});
    });
    server.on('error', reject);
  });
}

test('real hellos: the name and the ALPN list; every shorter cut is "more"', async () => {
  const hello = await captureHello('Test.Example.COM', ['acme-tls/1']);
  assert.deepEqual(readClientHello(hello), { servername: 'test.example.com', alpn: ['acme-tls/1'] });
  for (let cut = 0; cut < hello.length; cut++)
    assert.equal(readClientHello(hello.subarray(0, cut)), 'more', String(cut));
  const browser = await captureHello('a.example.com', ['h2', 'http/1.1']);
  assert.deepEqual(readClientHello(browser), { servername: 'a.example.com', alpn: ['h2', 'http/1.1'] });
  // Bytes after the record (the client's next flight) do not matter.
  assert.deepEqual(readClientHello(Buffer.concat([browser, Buffer.from('junk')])), {
    servername: 'a.example.com',
    alpn: ['h2', 'http/1.1'],
  });
});

/** A ClientHello record around these extensions (each [type, body]). */
function hello(
  extensions: [number, Buffer][],
  options: { recordType?: number; helloExtra?: number } = {},
): Buffer {
  const ext = Buffer.concat(
    extensions.map(([type, body]) => {
      const head = Buffer.alloc(4);
      head.writeUInt16BE(type, 0);
      head.writeUInt16BE(body.length, 2);
      return Buffer.concat([head, body]);
    }),
  );
  const extLen = Buffer.alloc(2);
  extLen.writeUInt16BE(ext.length);
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32),
    Buffer.from([0]), // session id
    Buffer.from([0, 2, 0x13, 0x01]), // one suite
    Buffer.from([1, 0]), // null compression
    extLen,
    ext,
  ]);
  const hs = Buffer.alloc(4);
  hs[0] = 1;
  hs.writeUIntBE(body.length + (options.helloExtra ?? 0), 1, 3);
  const record = Buffer.alloc(5);
  record[0] = options.recordType ?? 22;
  record[1] = 3;
  record[2] = 1;
  record.writeUInt16BE(hs.length + body.length, 3);
  return Buffer.concat([record, hs, body]);
}

const sni = (...names: [number, string][]): Buffer => {
  const entries = Buffer.concat(
    names.map(([type, n]) => {
      const b = Buffer.from(n, 'latin1');
      const h = Buffer.alloc(3);
      h[0] = type;
      h.writeUInt16BE(b.length, 1);
      return Buffer.concat([h, b]);
    }),
  );
  const len = Buffer.alloc(2);
  len.writeUInt16BE(entries.length);
  return Buffer.concat([len, entries]);
};
const alpn = (...protocols: string[]): Buffer => {
  const entries = Buffer.concat(
    protocols.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])),
  );
  const len = Buffer.alloc(2);
  len.writeUInt16BE(entries.length);
  return Buffer.concat([len, entries]);
};

test('built hellos: read as built; every hostile shape "invalid"', () => {
  assert.deepEqual(
    readClientHello(
      hello([
        [0, sni([0, 'a.example'])],
        [16, alpn('acme-tls/1')],
      ]),
    ),
    {
      servername: 'a.example',
      alpn: ['acme-tls/1'],
    },
  );
  const hostile: [string, Buffer][] = [
    ['an application-data record', hello([[16, alpn('acme-tls/1')]], { recordType: 23 })],
    ['a hello longer than its record (split across records)', hello([[16, alpn('x')]], { helloExtra: 10 })],
    [
      'a duplicate extension',
      hello([
        [16, alpn('acme-tls/1')],
        [16, alpn('h2')],
      ]),
    ],
    ['two host names', hello([[0, sni([0, 'a.example'], [0, 'b.example'])]])],
    ['a host name with a slash', hello([[0, sni([0, 'a/../b'])]])],
    ['a host name with a NUL', hello([[0, sni([0, 'a.example\0.evil'])]])],
    ['an empty ALPN list', hello([[16, Buffer.from([0, 0])]])],
    ['a zero-length protocol name', hello([[16, Buffer.from([0, 2, 0, 0])]])],
    ['an ALPN list longer than its extension', hello([[16, Buffer.from([0, 9, 2, 104, 50])]])],
    ['an SNI list longer than its extension', hello([[0, Buffer.from([0, 40, 0, 0, 1, 97])]])],
  ];
  for (const [what, bytes] of hostile) assert.equal(readClientHello(bytes), 'invalid', what);
  // A record claiming more than 2^14 bytes, and a non-TLS first byte.
  assert.equal(readClientHello(Buffer.from([22, 3, 1, 0x40, 0x01])), 'invalid');
  assert.equal(readClientHello(Buffer.from('GET / HTTP/1.1\r\n')), 'invalid');
  assert.equal(readClientHello(Buffer.from([22, 3, 9, 0, 10])), 'invalid');
});

test('fuzz: truncations, byte flips and random records never throw and never yield a bad name', async () => {
  const seeds = [
    await captureHello('fuzz.example.com', ['acme-tls/1']),
    await captureHello('b.example', ['h2', 'http/1.1']),
    hello([
      [0, sni([0, 'c.example'])],
      [16, alpn('acme-tls/1')],
    ]),
  ];
  const runs = await fuzz({ seed: 0x7150, iterations: 100_000, budgetMs: 2000 }, (rng) => {
    const base = rng.pick(seeds);
    let bytes: Buffer;
    const kind = rng.int(0, 2);
    if (kind === 0) bytes = base.subarray(0, rng.int(0, base.length));
    else if (kind === 1) {
      bytes = Buffer.from(base);
      for (let i = rng.int(1, 8); i > 0; i--) bytes[rng.int(0, bytes.length - 1)] = rng.int(0, 255);
    } else {
      bytes = Buffer.from(rng.bytes(rng.int(0, 600)));
      if (rng.chance(0.7) && bytes.length >= 3) bytes.set([22, 3, rng.int(1, 3)], 0);
      if (rng.chance(0.5) && bytes.length > 5) bytes.writeUInt16BE(bytes.length - 5, 3);
    }
    const result = readClientHello(bytes);
    if (typeof result === 'object') {
      if (result.servername !== undefined) assert.match(result.servername, /^[a-z0-9.-]{1,253}$/);
      for (const p of result.alpn) assert.ok(p.length >= 1 && p.length <= 255);
    } else assert.ok(result === 'more' || result === 'invalid');
  });
  assert.ok(runs > 1000, `ran ${runs} cases`);
});

test('the front with a challenge pending: junk and an oversized record reach the real server byte for byte; an early close is closed', async () => {
  const delivered: Buffer[] = [];
  const answers = { alpnPending: true, alpnContext: () => undefined };
  const front = createNetServer(
    tlsAlpnFront(answers, (socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => {
        delivered.push(Buffer.concat(chunks));
        socket.end();
      });
      socket.resume();
    }),
  );
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const port = (front.address() as AddressInfo).port;
  const send = (bytes: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const c = netConnect(port, '127.0.0.1', () => c.end(bytes));
      c.on('error', reject);
      c.on('close', () => resolve());
      c.resume();
    });
  try {
    const cases = [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.concat([Buffer.from([22, 3, 1, 0x3f, 0xff]), Buffer.alloc(20_000, 7)]),
    ];
    for (const bytes of cases) {
      delivered.length = 0;
      await send(bytes);
      assert.equal(delivered.length, 1);
      assert.ok(delivered[0]!.equals(bytes), `${bytes.length} bytes delivered intact`);
    }
    // Half a record header, then the client's end: closed by the front, nothing delivered (and
    // nothing thrown: bytes cannot be put back on a stream after its end).
    delivered.length = 0;
    await send(Buffer.from([22, 3]));
    assert.equal(delivered.length, 0);
  } finally {
    front.close();
  }
});
