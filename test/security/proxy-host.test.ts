/**
 * `host: 'upstream'`: the upstream always gets its own host in Host, whatever the client's
 * header values are (a value that reads `host` once made the rewrite land on the wrong field).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startProxy, startUpstream } from '../proxy/fixtures.ts';

test("host: 'upstream' rewrites Host even when a client header's value is the word host", async (t) => {
  const up = await startUpstream();
  t.after(() => up.close());
  await using server = await startProxy([up.url], { host: 'upstream' });
  for (const headers of [{ 'x-a': 'host' }, { 'x-a': 'host', 'x-b': 'y' }, { 'x-a': 'HOST' }]) {
    const res = await fetch(`${server.url}/api/x`, { headers });
    assert.equal(res.status, 200, JSON.stringify(headers));
    const seen = up.seen.at(-1)!;
    assert.equal(seen.headers.host, new URL(up.url).host, JSON.stringify(headers));
    assert.equal(seen.headers['x-a'], headers['x-a'], 'the client value is forwarded as sent');
    const names = seen.rawHeaders.filter((_, i) => i % 2 === 0);
    assert.equal(names.filter((name) => name.toLowerCase() === 'host').length, 1);
  }
});
