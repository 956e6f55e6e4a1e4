/** Seeded fuzz of the Authorization header parsing (every auth middleware) and the PHC parser. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  App,
  apiKey,
  basicAuth,
  bearer,
  createPasswordHasher,
  decodeBasic,
  jwt,
  type Kdf,
  parseAuthorization,
  parsePasswordHash,
} from '../../src/index.ts';
import { b64url } from '../fixtures/auth.ts';
import { fuzz, PRINTABLE, type Rng } from '../fixtures/fuzz.ts';

const SECRET = 'a-secret-of-at-least-thirty-two-bytes!';

function mutate(rng: Rng, text: string): string {
  let out = text;
  const steps = rng.int(1, 4);
  for (let s = 0; s < steps; s++) {
    const i = rng.int(0, out.length);
    switch (rng.int(0, 5)) {
      case 0:
        out = out.slice(0, i) + rng.string(PRINTABLE, rng.int(1, 4)) + out.slice(i);
        break;
      case 1:
        out = out.slice(0, i) + out.slice(i + rng.int(1, 6));
        break;
      case 2:
        out =
          out.slice(0, i) +
          rng.pick(['$', ',', '=', ':', '.', ' ', '\t', '0', '9', '+', '/', '-', '_']) +
          out.slice(i + 1);
        break;
      case 3:
        out =
          out.slice(0, i) +
          out.slice(i).replace(/\d+/, String(rng.pick([0, 1, 99999999, 2 ** 31, 4294967295])));
        break;
      case 4:
        out = out.repeat(rng.int(1, 3));
        break;
      default:
        out = out.slice(0, i);
    }
  }
  return out;
}

test('fuzz: Authorization headers never make an auth middleware answer anything but 2xx/400/401', async () => {
  const app = new App({ log: false });
  app.get('/jwt', jwt({ secret: SECRET }), (c) => c.text('in'));
  app.get('/bearer', bearer({ verify: (t) => (t === 'ok' ? { id: 1 } : undefined) }), (c) => c.text('in'));
  app.get('/basic', basicAuth({ users: { alice: 'wonderland' } }), (c) => c.text('in'));
  app.get('/key', apiKey({ header: 'authorization', keys: ['k'.repeat(32)] }), (c) => c.text('in'));
  const seeds = [
    'Bearer eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE5OTk5OTk5OTl9.sig',
    `Bearer ${b64url('{"alg":"none"}')}.${b64url('{}')}.`,
    `Basic ${btoa('alice:wonderland')}`,
    'Basic Og==',
    'bearer ok',
  ];
  const paths = ['/jwt', '/bearer', '/basic', '/key'];
  const ran = await fuzz({ seed: 0xa17, iterations: 3000, budgetMs: 1500 }, async (rng) => {
    const header = rng.chance(0.2) ? rng.string(PRINTABLE, rng.int(0, 60)) : mutate(rng, rng.pick(seeds));
    const path = rng.pick(paths);
    let res: Response;
    try {
      res = await app.request(path, { headers: { authorization: header } });
    } catch {
      return; // a header value the Headers class itself refuses never reaches the app
    }
    await res.arrayBuffer();
    assert.ok([200, 400, 401].includes(res.status), `${path} ${JSON.stringify(header)} → ${res.status}`);
    if (res.status !== 200) assert.ok(res.headers.get('www-authenticate'), 'a challenge with every refusal');
    const parsed = parseAuthorization(header);
    if (parsed !== null) assert.equal(parsed.scheme, parsed.scheme.toLowerCase());
    decodeBasic(header.slice(6));
  });
  assert.ok(ran > 100, `ran ${ran} cases`);
});

test('fuzz: the PHC parser never throws and a hostile hash is never accepted', async () => {
  // A fast stand-in KDF: deterministic in every input, so any change of the string changes the answer.
  const kdf: Kdf = async (algorithm, password, salt, params, length) => {
    const h = createHash('sha512')
      .update(algorithm)
      .update(password)
      .update(salt)
      .update(JSON.stringify(params));
    const out = new Uint8Array(length);
    const digest = h.digest();
    for (let i = 0; i < length; i++) out[i] = digest[i % digest.length]!;
    return out;
  };
  const hashers = [
    createPasswordHasher({ algorithm: 'argon2id', argon2: { m: 1024, t: 1, p: 1 }, kdf }),
    createPasswordHasher({ algorithm: 'scrypt', scrypt: { ln: 10, r: 8, p: 1 }, kdf }),
  ];
  const originals = await Promise.all(hashers.map((h) => h.hash('correct horse')));
  const ran = await fuzz({ seed: 0x9bc, iterations: 5000, budgetMs: 1500 }, async (rng) => {
    const which = rng.int(0, 1);
    const original = originals[which]!;
    const hostile = rng.chance(0.1) ? rng.string(PRINTABLE, rng.int(0, 120)) : mutate(rng, original);
    const parsed = parsePasswordHash(hostile);
    if (parsed !== null) {
      assert.ok(parsed.salt.length >= 8 && parsed.hash.length >= 32);
    }
    const ok = await hashers[which]!.verify('correct horse', hostile);
    if (hostile !== original) assert.equal(ok, false, `accepted ${JSON.stringify(hostile)}`);
  });
  assert.ok(ran > 100, `ran ${ran} cases`);
});

test('PHC hostile strings: bounds, non-canonical base64, padding, extra fields, huge numbers', () => {
  const salt = 'c2FsdHNhbHRzYWx0c2FsdA';
  const hash = 'aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
  assert.ok(parsePasswordHash(`$argon2id$v=19$m=1024,t=1,p=1$${salt}$${hash}`));
  const bad = [
    `$argon2id$v=19$m=4294967295,t=1,p=1$${salt}$${hash}`,
    `$argon2id$v=19$m=1024,t=100000,p=1$${salt}$${hash}`,
    `$argon2id$v=19$m=1024,t=1,p=0$${salt}$${hash}`,
    `$argon2id$v=19$m=01024,t=1,p=1$${salt}$${hash}`,
    `$argon2id$v=16$m=1024,t=1,p=1$${salt}$${hash}`,
    `$argon2id$m=1024,t=1,p=1$${salt}$${hash}`,
    `$argon2i$v=19$m=1024,t=1,p=1$${salt}$${hash}`,
    `$argon2id$v=19$t=1,m=1024,p=1$${salt}$${hash}`,
    `$argon2id$v=19$m=1024,t=1,p=1,x=2$${salt}$${hash}`,
    `$argon2id$v=19$m=1024,t=1,p=1$${salt}=$${hash}`,
    `$argon2id$v=19$m=1024,t=1,p=1$${salt}$${hash}$`,
    `$argon2id$v=19$m=1024,t=1,p=1$$${hash}`,
    `$argon2id$v=19$m=1024,t=1,p=1$${salt.slice(0, -1)}B$${hash}`, // non-canonical trailing bits
    `$argon2id$v=19$m=1024,t=1,p=1$c2Fs$${hash}`, // 3-byte salt
    `$scrypt$ln=40,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=20,r=32,p=16$${salt}$${hash}`,
    `$scrypt$ln=10,r=8,p=1$${salt}$${hash.replace('a', '-')}`,
    ` $scrypt$ln=10,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=1e1,r=8,p=1$${salt}$${hash}`,
    `$argon2id$v=19$m=1024,t=1,p=1$${salt}$${hash}${'A'.repeat(600)}`,
    '$',
    '',
    '$$$$$',
    '$argon2id$v=19$m=1024,t=1,p=1$$',
    '__proto__',
  ];
  for (const text of bad) assert.equal(parsePasswordHash(text), null, text.slice(0, 80));
  for (const value of [null, undefined, 42, {}, [], Symbol('x')])
    assert.equal(parsePasswordHash(value), null);
});

test('a truncated scrypt hash (its output is a prefix of a longer one) is refused, not verified', async () => {
  const hasher = createPasswordHasher({ algorithm: 'scrypt', scrypt: { ln: 10, r: 8, p: 1 } });
  const stored = await hasher.hash('pw');
  const first16 = Buffer.from(parsePasswordHash(stored)!.hash.slice(0, 16))
    .toString('base64')
    .replace(/=+$/, '');
  const cut = stored.slice(0, stored.lastIndexOf('$') + 1) + first16;
  assert.equal(await hasher.verify('pw', cut), false);
});
