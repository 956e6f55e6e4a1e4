/**
 * The HTTP-01 answer in front of everything, on both transports (the fast lane and node's path):
 * a pending token gets its key authorization, anything else on the challenge path a 404, and the
 * app, the edge policy and static files never see that path; without `acmeChallenges` the path
 * is the app's like any other.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ACME_CHALLENGE_PREFIX, ChallengeTokens } from '../../../src/server/acme/challenges.ts';
import { type EdgeServer, serve } from '../../../src/server/serve.ts';

const TOKEN = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA';
const KEY_AUTH = `${TOKEN}.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI`;

function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ChallengeTokens', () => {
  test('answers exactly the pending token', () => {
    const tokens = new ChallengeTokens();
    tokens.set(TOKEN, KEY_AUTH);
    assert.equal(tokens.http01(`${ACME_CHALLENGE_PREFIX}${TOKEN}`), KEY_AUTH);
    assert.equal(tokens.http01(`${ACME_CHALLENGE_PREFIX}${TOKEN}?x=1`), undefined);
    assert.equal(tokens.http01(`/x${ACME_CHALLENGE_PREFIX}${TOKEN}`), undefined);
    tokens.delete(TOKEN);
    assert.equal(tokens.http01(`${ACME_CHALLENGE_PREFIX}${TOKEN}`), undefined);
    assert.equal(tokens.size, 0);
  });

  test('refuses to hold a token that is not base64url', () => {
    const tokens = new ChallengeTokens();
    for (const bad of ['', 'short', '../../etc/passwd/xxxxxxxxxxxxxxxxx', `${TOKEN}=`, `${TOKEN}/x`])
      assert.throws(() => tokens.set(bad, 'x'), /not an ACME token/);
  });
});

for (const fastLane of [true, false]) {
  describe(`HTTP-01 on the ${fastLane ? 'fast lane' : 'node path'}`, () => {
    let server: EdgeServer;
    const appSaw: string[] = [];
    const tokens = new ChallengeTokens();
    tokens.set(TOKEN, KEY_AUTH);

    before(async () => {
      server = await serve(
        {
          fetch: (r: Request) => {
            appSaw.push(new URL(r.url).pathname);
            return new Response('app');
          },
        },
        {
          port: 0,
          logger: false,
          fastLane,
          acmeChallenges: tokens,
          // Even a denied client and a limited Host reach the answer: the CA's validation must
          // not depend on the app's access rules.
          deny: ['127.0.0.1'],
          allowedHosts: ['only.example.com'],
        },
      );
    });
    after(() => server.close());

    test('GET of a pending token: 200 with the key authorization, before allow/deny and allowedHosts', async () => {
      const res = await send(server.port, 'GET', `${ACME_CHALLENGE_PREFIX}${TOKEN}`, {
        host: 'test.example',
      });
      assert.equal(res.status, 200);
      assert.equal(res.body, KEY_AUTH);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.match(String(res.headers['content-type']), /^text\/plain/);
    });

    test('HEAD of a pending token: 200, no body', async () => {
      const res = await send(server.port, 'HEAD', `${ACME_CHALLENGE_PREFIX}${TOKEN}`);
      assert.equal(res.status, 200);
      assert.equal(res.body, '');
    });

    test('an unknown token, a POST, anything else on the path: 404, and the app never sees it', async () => {
      for (const [method, path] of [
        ['GET', `${ACME_CHALLENGE_PREFIX}${'B'.repeat(43)}`],
        ['POST', `${ACME_CHALLENGE_PREFIX}${TOKEN}`],
        ['GET', ACME_CHALLENGE_PREFIX],
      ] as const) {
        const res = await send(server.port, method, path);
        assert.equal(res.status, 404, `${method} ${path}`);
      }
      assert.deepEqual(appSaw, []);
    });

    test('other paths still meet the edge policy (here: the deny list)', async () => {
      assert.equal((await send(server.port, 'GET', '/')).status, 403);
    });
  });
}

test('without acmeChallenges the challenge path is the app’s', async () => {
  await using server = await serve({ fetch: () => new Response('app') }, { port: 0, logger: false });
  const res = await send(server.port, 'GET', `${ACME_CHALLENGE_PREFIX}${TOKEN}`);
  assert.equal(res.status, 200);
  assert.equal(res.body, 'app');
});
