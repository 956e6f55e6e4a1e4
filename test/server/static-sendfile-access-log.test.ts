/**
 * The access log no longer turns sendfile off: its response class only counts bytes through
 * `write`/`end`, and the sendfile transfer adds what it sends past them, so a large static file
 * goes out with sendfile(2) while the log is on, and its line has the body's bytes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SendfileTransfer, sendfileAvailable } from '../../src/server/static/sendfile.ts';
import { serve } from '../../src/server.ts';

const SIZE = 1024 * 1024 + 7;
let dir: string;
let files = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-sendfile-log-'));
  writeFileSync(join(dir, 'big.bin'), randomBytes(SIZE));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Counts the transfers that went out with sendfile while `fn` runs. */
async function countingSendfile(fn: () => Promise<void>): Promise<number> {
  const start = SendfileTransfer.prototype.start;
  let count = 0;
  SendfileTransfer.prototype.start = function (this: SendfileTransfer): void {
    count += 1;
    start.call(this);
  };
  try {
    await fn();
  } finally {
    SendfileTransfer.prototype.start = start;
  }
  return count;
}

for (const fastLane of [true, false]) {
  describe(`static files with the access log on (fastLane: ${fastLane})`, {
    skip: !sendfileAvailable && 'no sendfile addon',
  }, () => {
    for (const compression of [false, true]) {
      test(`a large file goes out with sendfile and is logged with its bytes (compression: ${compression})`, async () => {
        const file = join(dir, `access-${++files}.log`);
        const server = await serve(() => new Response('app'), {
          port: 0,
          logger: false,
          fastLane,
          compression,
          static: { root: dir },
          accessLog: { format: 'json', destination: file },
        });
        let body: Buffer | undefined;
        const transfers = await countingSendfile(async () => {
          try {
            const res = await fetch(`${server.url}/big.bin`);
            assert.equal(res.status, 200);
            body = Buffer.from(await res.arrayBuffer());
            // And a ranged one: its line has the part's bytes.
            const part = await fetch(`${server.url}/big.bin`, { headers: { range: 'bytes=10-1033' } });
            assert.equal(part.status, 206);
            assert.equal((await part.arrayBuffer()).byteLength, 1024);
          } finally {
            await server.close();
          }
        });
        assert.equal(body?.length, SIZE);
        assert.ok(body.equals(readFileSync(join(dir, 'big.bin'))));
        assert.equal(transfers, 2, 'both responses went out with sendfile');
        const lines = readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as { status: number; bytes: number });
        assert.deepEqual(
          lines.map((l) => [l.status, l.bytes]),
          [
            [200, SIZE],
            [206, 1024],
          ],
        );
      });
    }
  });
}
