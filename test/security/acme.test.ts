/**
 * The ACME challenge path under attack: traversal and odd tokens (raw, on both transports), the
 * route used to read anything but a pending key authorization (static files, the app, encoded
 * paths, a second request pipelined behind), and a seeded fuzz of the token check.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ACME_CHALLENGE_PREFIX, ChallengeTokens } from '../../src/server/acme/challenges.ts';
import { AcmeStorage } from '../../src/server/acme/storage.ts';
import { type EdgeServer, serve } from '../../src/server/serve.ts';
import { fuzz, PRINTABLE } from '../fixtures/fuzz.ts';
import { rawRequest } from '../fixtures/http.ts';

const TOKEN = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA';
const KEY_AUTH = `${TOKEN}.thumbprint_of_the_account_key_0123456789ab`;
const SECRET = 'a file the challenge route must never serve';

// Targets on (or dressed up as) the challenge path that must get 404 from strata, never the
// key authorization, a file, or the app.
const HOSTILE: [what: string, target: string][] = [
  ['traversal', `${ACME_CHALLENGE_PREFIX}../../secret.txt`],
  ['traversal to a static file', `${ACME_CHALLENGE_PREFIX}../secret.txt`],
  ['encoded traversal', `${ACME_CHALLENGE_PREFIX}%2e%2e%2fsecret.txt`],
  ['encoded slash', `${ACME_CHALLENGE_PREFIX}..%2F..%2Fsecret.txt`],
  ['token with a query', `${ACME_CHALLENGE_PREFIX}${TOKEN}?download=1`],
  ['token with a fragment-like suffix', `${ACME_CHALLENGE_PREFIX}${TOKEN}%23x`],
  ['token plus a segment', `${ACME_CHALLENGE_PREFIX}${TOKEN}/x`],
  ['token with padding', `${ACME_CHALLENGE_PREFIX}${TOKEN}=`],
  ['token percent-encoded', `${ACME_CHALLENGE_PREFIX}${encodeURIComponent(TOKEN).replace('e', '%65')}`],
  ['a static file planted under the challenge path', `${ACME_CHALLENGE_PREFIX}planted-file-name-long-enough`],
  ['too short to be a token', `${ACME_CHALLENGE_PREFIX}abc`],
  ['too long to be a token', `${ACME_CHALLENGE_PREFIX}${'A'.repeat(129)}`],
  ['the bare prefix', ACME_CHALLENGE_PREFIX],
  ['a prefix of a known token', `${ACME_CHALLENGE_PREFIX}${TOKEN.slice(0, 30)}`],
  ['NUL', `${ACME_CHALLENGE_PREFIX}%00${TOKEN}`],
];

for (const fastLane of [true, false]) {
  describe(`the challenge path under attack (${fastLane ? 'fast lane' : 'node path'})`, () => {
    let server: EdgeServer;
    let root: string;
    const appSaw: string[] = [];

    before(async () => {
      root = mkdtempSync(join(tmpdir(), 'strata-acme-sec-'));
      writeFileSync(join(root, 'secret.txt'), SECRET);
      mkdirSync(join(root, '.well-known', 'acme-challenge'), { recursive: true });
      writeFileSync(join(root, '.well-known', 'acme-challenge', 'planted-file-name-long-enough'), SECRET);
      const tokens = new ChallengeTokens();
      tokens.set(TOKEN, KEY_AUTH);
      server = await serve(
        {
          fetch: (r: Request) => {
            appSaw.push(new URL(r.url).pathname);
            return new Response(SECRET);
          },
        },
        { port: 0, logger: false, fastLane, static: { root, dotfiles: true }, acmeChallenges: tokens },
      );
    });
    after(async () => {
      await server.close();
      rmSync(root, { recursive: true, force: true });
    });

    for (const [what, target] of HOSTILE) {
      test(`${what}: 404, nothing else`, async () => {
        const res = await rawRequest(
          server.port,
          `GET ${target} HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n`,
        );
        // A target llhttp itself refuses (400) is fine too: it never reached anything.
        assert.ok(res.status === 404 || res.status === 400, `${res.status}: ${res.text.slice(0, 200)}`);
        assert.ok(!res.text.includes(SECRET), 'no file, no app');
        assert.ok(!res.text.includes(KEY_AUTH), 'no key authorization');
      });
    }

    test('the static file planted under the challenge path is not served, and the app saw nothing', async () => {
      assert.deepEqual(appSaw, []);
    });

    test('a request pipelined behind a challenge answer is answered on its own (the app’s)', async () => {
      const res = await rawRequest(
        server.port,
        `GET ${ACME_CHALLENGE_PREFIX}${TOKEN} HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(res.status, 200);
      const bodies = res.text.split('HTTP/1.1 ');
      assert.equal(bodies.length, 3, res.text);
      assert.ok(bodies[1]!.endsWith(KEY_AUTH), bodies[1]);
      assert.ok(bodies[2]!.startsWith('200'), bodies[2]);
      assert.deepEqual(appSaw, ['/next']);
      appSaw.length = 0;
    });

    test('a challenge request with a body (chunked, node path) still gets the answer, the body unread', async () => {
      const res = await rawRequest(
        server.port,
        `GET ${ACME_CHALLENGE_PREFIX}${TOKEN} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      );
      assert.equal(res.status, 200);
      assert.ok(res.text.endsWith(KEY_AUTH));
      assert.deepEqual(appSaw, []);
    });
  });
}

test('fuzz: ChallengeTokens answers only the exact target of a pending token', async () => {
  const tokens = new ChallengeTokens();
  tokens.set(TOKEN, KEY_AUTH);
  const exact = `${ACME_CHALLENGE_PREFIX}${TOKEN}`;
  const pieces = [ACME_CHALLENGE_PREFIX, TOKEN, '/', '..', '%2e', '%2f', '?', '#', '=', '\0', 'é', '\\'];
  const runs = await fuzz({ seed: 0xac3e, iterations: 50_000, budgetMs: 1500 }, (rng) => {
    let target = '';
    const parts = rng.int(1, 5);
    for (let i = 0; i < parts; i++)
      target += rng.chance(0.6) ? rng.pick(pieces) : rng.string(PRINTABLE, rng.int(0, 50));
    const answer = tokens.http01(target);
    if (target === exact) assert.equal(answer, KEY_AUTH);
    else assert.equal(answer, undefined, JSON.stringify(target));
  });
  assert.ok(runs > 100, `ran ${runs} cases`);
});

test('storage: keys are never readable by others — a loose directory or key file is tightened, umask or not', async () => {
  const root = mkdtempSync(join(tmpdir(), 'strata-acme-modes-'));
  const previous = process.umask(0o000);
  try {
    const storage = new AcmeStorage(root, 'https://ca.example/directory');
    mkdirSync(storage.dir, { recursive: true, mode: 0o777 });
    chmodSync(storage.dir, 0o777);
    await storage.saveAccountKey('-----BEGIN PRIVATE KEY-----');
    assert.equal(statSync(storage.dir).mode & 0o777, 0o700, 'the loose directory is tightened on write');
    assert.equal(statSync(join(storage.dir, 'account.key')).mode & 0o777, 0o600);
    chmodSync(join(storage.dir, 'account.key'), 0o666);
    await storage.accountKey();
    assert.equal(statSync(join(storage.dir, 'account.key')).mode & 0o777, 0o600, 'tightened on read');
    // Written through a temporary file created 0600: none is left behind.
    assert.deepEqual(readdirSync(storage.dir), ['account.key']);
  } finally {
    process.umask(previous);
    rmSync(root, { recursive: true, force: true });
  }
});
