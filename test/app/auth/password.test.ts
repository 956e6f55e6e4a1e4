import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createPasswordHasher,
  HAS_ARGON2,
  hashPassword,
  needsRehash,
  parsePasswordHash,
  verifyAndRehash,
  verifyPassword,
} from '../../../src/index.ts';

const cheap = { argon2: { m: 1024, t: 1, p: 1 }, scrypt: { ln: 10, r: 8, p: 1 } };

describe('password hashing', () => {
  test('this runtime (the pinned Node 24) has crypto.argon2, so the default is argon2id', async () => {
    assert.equal(HAS_ARGON2, true);
    const stored = await hashPassword('correct horse battery staple');
    assert.match(stored, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.equal(await verifyPassword('correct horse battery staple', stored), true);
    assert.equal(await verifyPassword('correct horse battery stapler', stored), false);
    assert.equal(needsRehash(stored), false);
  });

  for (const algorithm of ['argon2id', 'scrypt'] as const) {
    test(`${algorithm}: roundtrip, salted, PHC parameters in the string`, async () => {
      const hasher = createPasswordHasher({ algorithm, ...cheap });
      const a = await hasher.hash('pässwörd ✓');
      const b = await hasher.hash('pässwörd ✓');
      assert.notEqual(a, b, 'a fresh salt each time');
      assert.equal(await hasher.verify('pässwörd ✓', a), true);
      assert.equal(await hasher.verify('pässwörd ✓', b), true);
      assert.equal(await hasher.verify('passwörd ✓', a), false);
      assert.equal(await hasher.verify('', a), false);
      const parsed = parsePasswordHash(a)!;
      assert.equal(parsed.algorithm, algorithm);
      assert.deepEqual(parsed.params, algorithm === 'argon2id' ? cheap.argon2 : cheap.scrypt);
      assert.equal(parsed.salt.length, 16);
      assert.equal(parsed.hash.length, 32);
      assert.match(
        a,
        algorithm === 'argon2id' ? /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/ : /^\$scrypt\$ln=10,r=8,p=1\$/,
      );
    });
  }

  test("a hasher verifies the other algorithm's hashes and asks for a rehash", async () => {
    const old = createPasswordHasher({ algorithm: 'scrypt', ...cheap });
    const current = createPasswordHasher({ algorithm: 'argon2id', ...cheap });
    const stored = await old.hash('pw');
    assert.equal(await current.verify('pw', stored), true);
    assert.equal(current.needsRehash(stored), true);
    assert.equal(old.needsRehash(stored), false);
  });

  test('needsRehash: changed parameters (up or down), another algorithm, garbage', async () => {
    const base = createPasswordHasher({ algorithm: 'argon2id', ...cheap });
    const stored = await base.hash('pw');
    assert.equal(
      createPasswordHasher({ algorithm: 'argon2id', argon2: { m: 2048, t: 1, p: 1 } }).needsRehash(stored),
      true,
    );
    assert.equal(
      createPasswordHasher({ algorithm: 'argon2id', argon2: { m: 1024, t: 2, p: 1 } }).needsRehash(stored),
      true,
    );
    assert.equal(
      createPasswordHasher({ algorithm: 'argon2id', argon2: { m: 512, t: 1, p: 1 } }).needsRehash(stored),
      true,
    );
    assert.equal(createPasswordHasher({ algorithm: 'scrypt', ...cheap }).needsRehash(stored), true);
    assert.equal(base.needsRehash('not a hash'), true);
  });

  test('verifyAndRehash: the new hash only for a right password with an outdated hash', async () => {
    const old = createPasswordHasher({ algorithm: 'argon2id', argon2: { m: 512, t: 1, p: 1 } });
    const current = createPasswordHasher({ algorithm: 'argon2id', ...cheap });
    const stored = await old.hash('pw');
    const wrong = await current.verifyAndRehash('nope', stored);
    assert.deepEqual(wrong, { valid: false });
    const right = await current.verifyAndRehash('pw', stored);
    assert.equal(right.valid, true);
    assert.match(right.rehash!, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    assert.equal(await current.verify('pw', right.rehash!), true);
    assert.deepEqual(await current.verifyAndRehash('pw', right.rehash!), { valid: true });
    assert.deepEqual(await verifyAndRehash('pw', undefined), { valid: false });
  });

  test('bad input to hash and bad options throw STRATA_ERR_PASSWORD', async () => {
    const code = (e: Error & { code?: string }) => e.code === 'STRATA_ERR_PASSWORD';
    await assert.rejects(hashPassword(42 as never), code);
    await assert.rejects(hashPassword('x'.repeat(5000)), code);
    assert.throws(() => createPasswordHasher({ algorithm: 'md5' as never }), code);
    assert.throws(() => createPasswordHasher({ argon2: { m: 1 << 24, t: 1, p: 1 } }), code);
    assert.throws(() => createPasswordHasher({ algorithm: 'scrypt', scrypt: { ln: 30, r: 8, p: 1 } }), code);
  });

  test('verify of a too-long or non-string password is false, never a throw', async () => {
    const hasher = createPasswordHasher({ algorithm: 'scrypt', ...cheap });
    const stored = await hasher.hash('pw');
    assert.equal(await hasher.verify('x'.repeat(5000), stored), false);
    assert.equal(await hasher.verify(undefined as never, stored), false);
  });
});
