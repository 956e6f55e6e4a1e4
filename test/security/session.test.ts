/**
 * Attacks on sessions: a tampered cookie (bit flips, truncation, extension, another key, a
 * rotated-out key, another app's secret, another purpose, moved to another cookie name) is no
 * session and never a 500; a fixated id (attacker-chosen, or a real one the attacker holds) is
 * never adopted and regenerate() destroys the old; a seeded fuzz of the cookie decoder.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deriveKeys, fromBase64url, newSessionId, toBase64url, unseal } from '../../src/app/session/seal.ts';
import { MemorySessionStore } from '../../src/app/session/store.ts';
import { fuzz, PRINTABLE } from '../fixtures/fuzz.ts';
import {
  call,
  cookieHeader,
  SECRET_A,
  SECRET_B,
  SECRET_C,
  type SessionApp,
  sessionApp,
} from '../fixtures/session.ts';

const NAME = '__Host-sid';

async function read(
  app: SessionApp,
  cookie: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await call(app, 'GET', '/read', cookie);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function assertNoSession(app: SessionApp, value: string, why: string): Promise<void> {
  const { status, body } = await read(app, `${NAME}=${value}`);
  assert.equal(status, 200, `${why}: never a 500`);
  assert.equal(body.isNew, true, `${why}: no session`);
  assert.equal(body.user, null, why);
}

function flipBit(value: string, bit: number): string {
  const bytes = fromBase64url(value)!;
  bytes[bit >> 3]! ^= 1 << (bit & 7);
  return toBase64url(bytes);
}

for (const kind of ['cookie', 'memory'] as const) {
  describe(`tampered ${kind} session cookies are no session`, () => {
    const store = kind === 'memory' ? new MemorySessionStore() : undefined;
    const opts = store === undefined ? {} : { store };
    const app = sessionApp(opts, [SECRET_A]);
    let value = '';

    test('the genuine cookie works (control)', async () => {
      const cookie = cookieHeader(await call(app, 'POST', '/set?user=victim'));
      value = cookie.slice(NAME.length + 1);
      assert.equal((await read(app, cookie)).body.user, 'victim');
    });

    test('every single bit flipped', async () => {
      if (kind === 'cookie') {
        const bits = fromBase64url(value)!.length * 8;
        for (let bit = 0; bit < bits; bit += 7) await assertNoSession(app, flipBit(value, bit), `bit ${bit}`);
      } else {
        // id.signature: flip characters of either part.
        for (let i = 0; i < value.length; i++) {
          if (value[i] === '.') continue;
          const swapped = value.slice(0, i) + (value[i] === 'A' ? 'B' : 'A') + value.slice(i + 1);
          await assertNoSession(app, swapped, `char ${i}`);
        }
      }
    });

    test('the same bytes spelled another way (unused bits of the last base64url character set)', async () => {
      const base64url = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      // A length that leaves unused bits (not a multiple of 4): vary the data until it does.
      let spelledFrom = value;
      for (let user = 'v'; spelledFrom.length % 4 === 0; user += 'v')
        spelledFrom = cookieHeader(await call(app, 'POST', `/set?user=${user}`)).slice(NAME.length + 1);
      assert.ok((await read(app, `${NAME}=${spelledFrom}`)).body.isNew === false, 'control');
      const last = base64url.indexOf(spelledFrom.at(-1)!);
      const unused = spelledFrom.length % 4 === 2 ? 0x0f : 0x03;
      for (let bits = 1; bits <= unused; bits++) {
        const spelled = spelledFrom.slice(0, -1) + base64url[(last & ~unused) | bits];
        await assertNoSession(app, spelled, `unused bits ${bits}`);
      }
    });

    test('truncated, extended, emptied, doubled', async () => {
      for (let n = 0; n < value.length; n += Math.max(1, value.length >> 4))
        await assertNoSession(app, value.slice(0, n), `first ${n} chars`);
      await assertNoSession(app, value.slice(1), 'first char cut');
      await assertNoSession(app, `${value}A`, 'one char added');
      await assertNoSession(app, `${value}${value}`, 'doubled');
      await assertNoSession(app, '', 'empty');
    });

    test('sealed or signed under another key: another app, a rotated-out secret, another purpose', async () => {
      const foreign = cookieHeader(await call(sessionApp(opts, [SECRET_C]), 'POST', '/set?user=mallory'));
      await assertNoSession(app, foreign.slice(NAME.length + 1), "another app's secret");
      // A server that rotated A out no longer opens A's cookies.
      await assertNoSession(sessionApp(opts, [SECRET_B]), value, 'rotated out');
      const otherPurpose = cookieHeader(
        await call(sessionApp({ ...opts, purpose: 'admin' }, [SECRET_A]), 'POST', '/set?user=admin'),
      );
      await assertNoSession(app, otherPurpose.slice(NAME.length + 1), 'another purpose, same secret');
    });

    test('moved from another cookie name (the name is bound)', async () => {
      const other = sessionApp({ ...opts, cookie: { name: 'other' } }, [SECRET_A]);
      const cookie = cookieHeader(await call(other, 'POST', '/set?user=other'));
      await assertNoSession(app, cookie.slice('__Host-other='.length), 'moved');
    });
  });
}

test('an expired cookie session cannot be revived by editing its timestamps (they are sealed)', async () => {
  let now = 1_000_000;
  const app = sessionApp({ now: () => now, idleTimeout: 60 });
  const cookie = cookieHeader(await call(app, 'POST', '/set'));
  now += 61_000;
  assert.equal((await read(app, cookie)).body.isNew, true);
});

describe('session fixation', () => {
  test('an attacker-chosen id (unsigned, or signed-looking) is never adopted', async () => {
    const store = new MemorySessionStore();
    const app = sessionApp({ store });
    const planted = newSessionId();
    for (const value of [planted, `${planted}.${'A'.repeat(43)}`, 'attacker', `${planted}.`]) {
      const res = await call(app, 'POST', '/set?user=victim', `${NAME}=${value}`);
      const { id } = (await res.json()) as { id: string };
      assert.notEqual(id, planted);
      assert.equal(store.get(planted), undefined);
      assert.ok(!cookieHeader(res).includes(planted), 'the Set-Cookie carries a fresh id');
    }
  });

  test("a real id the attacker obtained and planted: login regenerates, and the attacker's copy is worthless", async () => {
    const store = new MemorySessionStore();
    const app = sessionApp({ store });
    // The attacker gets a genuine (anonymous) session and plants its cookie in the victim's browser.
    const attackerCookie = cookieHeader(await call(app, 'POST', '/set?user=anonymous'));
    const attackerId = (await read(app, attackerCookie)).body.id as string;
    // The victim logs in with it.
    const login = await call(app, 'POST', '/login?user=victim', attackerCookie);
    const { before, after } = (await login.clone().json()) as { before: string; after: string };
    assert.equal(before, attackerId);
    assert.notEqual(after, attackerId);
    assert.equal(store.get(attackerId), undefined, 'the old id is destroyed server-side');
    // The attacker's cookie opens nothing; the victim's new one opens the login.
    assert.equal((await read(app, attackerCookie)).body.user, null);
    assert.equal((await read(app, cookieHeader(login))).body.user, 'victim');
  });

  test('a signed id whose session expired is not reused for the next session', async () => {
    let now = 0;
    const store = new MemorySessionStore({ now: () => now });
    const app = sessionApp({ store, now: () => now, idleTimeout: 60 });
    const cookie = cookieHeader(await call(app, 'POST', '/set'));
    const oldId = (await read(app, cookie)).body.id;
    now += 120_000;
    const res = await call(app, 'POST', '/set', cookie);
    assert.notEqual(((await res.json()) as { id: string }).id, oldId);
  });
});

test('fuzz: the cookie-session decoder never throws and never yields a session (seeded)', async () => {
  const keys = await deriveKeys([SECRET_A], 'strata session\u0000session');
  const alphabet = `${PRINTABLE}-_`;
  const base64url = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const runs = await fuzz({ seed: 0x5e55, iterations: 20_000, budgetMs: 1500 }, async (rng) => {
    let value: string;
    const shape = rng.int(0, 3);
    if (shape === 0) value = toBase64url(rng.bytes(rng.int(0, 400)));
    else if (shape === 1) {
      // A version byte that passes the first check, then noise.
      const bytes = rng.bytes(rng.int(29, 300));
      bytes[0] = 1;
      value = toBase64url(bytes);
    } else if (shape === 2) value = rng.string(base64url, rng.int(0, 600));
    else value = rng.string(alphabet, rng.int(0, 100));
    const out = await unseal(value, keys, 'sid', 4096);
    assert.equal(out, undefined, value);
  });
  assert.ok(runs > 100, `only ${runs} cases ran`);
  // And through the app: random cookie values are no session and never a 500.
  const app = sessionApp();
  await fuzz({ seed: 0x5e56, iterations: 300, budgetMs: 800 }, async (rng) => {
    const value = toBase64url(rng.bytes(rng.int(0, 200)));
    const { status, body } = await read(app, `${NAME}=${value}`);
    assert.equal(status, 200);
    assert.equal(body.isNew, true);
  });
});
