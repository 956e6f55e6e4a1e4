/**
 * The redirect listener's Location is built from client input (Host and the target): whatever a
 * client sends, the redirect points at the host it named, on https, with the path it asked for —
 * never at another host (an open redirect) and never with a line break (header injection).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redirectTarget } from '../../src/server/tls/redirect.ts';
import { fuzz, PRINTABLE } from '../fixtures/fuzz.ts';

const HOSTISH = 'abcXYZ019.-:[]@/\\?#%_ \t\r\n\u0000é*';

test('fuzz: a redirect names the Host given, on https, with the same target, or is refused', async () => {
  let redirected = 0;
  const cases = await fuzz({ seed: 0x308, iterations: 20_000, budgetMs: 2000 }, (rng) => {
    const host = rng.chance(0.5)
      ? rng.string(HOSTISH, rng.int(0, 24))
      : `${rng.string('abc.', rng.int(1, 12))}:${rng.int(0, 99999)}`;
    const url = rng.chance(0.8)
      ? `/${rng.string(PRINTABLE, rng.int(0, 30))}`
      : rng.string(PRINTABLE, rng.int(0, 30));
    const target = redirectTarget({ url, headers: { host }, rawHeaders: ['Host', host] }, 8443);
    if (typeof target === 'number') {
      assert.ok(target === 400, `status ${target}`);
      return;
    }
    redirected += 1;
    assert.doesNotMatch(target, /[\r\n\0]/);
    // The authority is the Host's name (no userinfo, no path, no other port), lowercase, made of
    // a name's characters or a bracketed IPv6 address, then the HTTPS port.
    const name = host.replace(/:[0-9]+$/, '').toLowerCase();
    assert.match(name, /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])$/);
    assert.ok(target.startsWith(`https://${name}:8443/`), target);
    assert.equal(target.slice(`https://${name}:8443`.length), url);
  });
  assert.ok(cases > 100 && redirected > 10, `${cases} cases, ${redirected} redirected`);
});

test('allowedHosts: a Host outside the list is 421 whatever it looks like', () => {
  const allowed = (raw: string[]) => raw[1] === 'example.com';
  assert.equal(
    redirectTarget(
      { url: '/', headers: { host: 'evil.test' }, rawHeaders: ['Host', 'evil.test'] },
      443,
      allowed,
    ),
    421,
  );
  assert.equal(
    redirectTarget(
      { url: '/x', headers: { host: 'example.com' }, rawHeaders: ['Host', 'example.com'] },
      443,
      allowed,
    ),
    'https://example.com/x',
  );
});
