/**
 * The HTTP-01 answers are exchanges like any other: one access-log line and one metrics sample
 * each, on the fast lane as on node's path.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Metrics } from '../../../src/observe/metrics.ts';
import { ACME_CHALLENGE_PREFIX, ChallengeTokens } from '../../../src/server/acme/challenges.ts';
import { serve } from '../../../src/server/serve.ts';

const TOKEN = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA';
const KEY_AUTH = `${TOKEN}.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI`;

for (const fastLane of [true, false]) {
  test(`HTTP-01 answers are logged and metered once (${fastLane ? 'fast lane' : 'node path'})`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-acme-log-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const tokens = new ChallengeTokens();
    tokens.set(TOKEN, KEY_AUTH);
    const metrics = new Metrics();
    const started: string[] = [];
    const server = await serve(() => new Response('app'), {
      port: 0,
      logger: false,
      fastLane,
      acmeChallenges: tokens,
      metrics,
      accessLog: { format: 'json', destination: join(dir, 'access.log') },
      onRequestStart: (req) => started.push(req.url ?? ''),
    });
    const answer = await fetch(`${server.url}${ACME_CHALLENGE_PREFIX}${TOKEN}`);
    assert.equal(await answer.text(), KEY_AUTH);
    const unknown = await fetch(`${server.url}${ACME_CHALLENGE_PREFIX}${'B'.repeat(43)}`);
    assert.equal(unknown.status, 404);
    await unknown.text();
    await server.close();
    const lines = readFileSync(join(dir, 'access.log'), 'utf8')
      .trim()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { url: string; status: number; bytes: number });
    assert.deepEqual(
      lines.map(({ url, status, bytes }) => ({ url, status, bytes })),
      [
        { url: `${ACME_CHALLENGE_PREFIX}${TOKEN}`, status: 200, bytes: KEY_AUTH.length },
        { url: `${ACME_CHALLENGE_PREFIX}${'B'.repeat(43)}`, status: 404, bytes: 'Not Found\n'.length },
      ],
    );
    const text = await metrics.text();
    assert.match(text, /strata_http_requests_total\{method="GET",route="",status="200"\} 1\n/);
    assert.match(text, /strata_http_requests_total\{method="GET",route="",status="404"\} 1\n/);
    assert.equal(started.length, 2, 'onRequestStart saw both');
  });
}
