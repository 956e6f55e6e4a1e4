import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { createGunzip, zstdDecompressSync } from 'node:zlib';
import app from '../../examples/compression/app.ts';
import { serve } from '../../src/server.ts';
import { getRaw } from '../fixtures/http.ts';

test('examples/compression: the report is compressed, the events arrive one by one, decodable', async () => {
  const server = await serve(app, { port: 0, logger: false, compression: true });
  try {
    const report = await getRaw(`${server.url}/report`, { 'accept-encoding': 'zstd' });
    assert.equal(report.headers['content-encoding'], 'zstd');
    assert.equal(JSON.parse(zstdDecompressSync(report.body).toString()).rows.length, 200);

    const events = await new Promise<string[]>((resolve, reject) => {
      const seen: string[] = [];
      request(
        `${server.url}/events?count=3&interval=10`,
        { headers: { 'accept-encoding': 'gzip' }, agent: false },
        (res) => {
          assert.equal(res.headers['content-encoding'], 'gzip');
          let text = '';
          const gunzip = res.pipe(createGunzip());
          gunzip.on('data', (d: Buffer) => {
            text += d.toString();
            const parts = text.split('\n\n');
            text = parts.pop()!;
            seen.push(...parts);
          });
          gunzip.on('end', () => resolve(seen));
        },
      )
        .on('error', reject)
        .end();
    });
    assert.deepEqual(
      events.map((e) => JSON.parse(e.split('data: ')[1]!).tick),
      [0, 1, 2],
    );
  } finally {
    await server.close();
  }
});
