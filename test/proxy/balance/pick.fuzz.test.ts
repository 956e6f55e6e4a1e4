/**
 * Seeded fuzz of the upstream group: random groups (algorithm, weights, checks), random request
 * keys (hostile header and cookie values included), random outcomes and clock steps. After every
 * step the invariants hold: a pick is never unavailable or excluded, `undefined` only when every
 * upstream is, nothing throws, and `active` never goes below zero.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type BalanceAlgorithm,
  type Outcome,
  type PickContext,
  type Upstream,
  UpstreamGroup,
} from '../../../src/proxy/balance/index.ts';
import { fuzz, PRINTABLE, type Rng } from '../../fixtures/fuzz.ts';

const OUTCOMES: Outcome[] = ['ok', 'ok', 'ok', 'connect-error', 'reset', 'timeout', 'server-error'];
const ALGORITHMS: BalanceAlgorithm[] = [
  'round-robin',
  'weighted',
  'least-connections',
  { hash: 'header', name: 'x-user' },
  { hash: 'cookie', name: 'sid' },
  { hash: 'client' },
];

/** Strings a client may send: empty, huge, control characters, lone surrogates, emoji. */
function oddValue(rng: Rng): string | undefined {
  switch (rng.int(0, 7)) {
    case 0:
      return undefined;
    case 1:
      return '';
    case 2:
      return rng.string(PRINTABLE, rng.int(1, 40));
    case 3:
      return rng.string(PRINTABLE, rng.int(5000, 20_000));
    case 4:
      return String.fromCharCode(...Array.from({ length: rng.int(1, 12) }, () => rng.int(0, 0xffff)));
    case 5:
      return '\ud800\udfff\udc00\u0000\r\n';
    case 6:
      return '😀'.repeat(rng.int(1, 9));
    default:
      return rng.string('ab', rng.int(1, 3)); // few distinct keys: stickiness gets exercised
  }
}

function context(rng: Rng): PickContext {
  const header = oddValue(rng);
  const cookie = oddValue(rng);
  const remote = rng.pick(['127.0.0.1', '::1', '2001:db8::1', '', rng.string(PRINTABLE, 20)]);
  return { remote, header: () => header, cookie: () => cookie };
}

function keyOf(balance: Exclude<BalanceAlgorithm, string>, ctx: PickContext): boolean {
  const key =
    balance.hash === 'client'
      ? ctx.remote
      : balance.hash === 'header'
        ? ctx.header('x-user')
        : ctx.cookie('sid');
  return key !== undefined && key !== '';
}

test('pick never returns an unavailable or excluded upstream, sticks to a key, and never throws', async () => {
  let picks = 0;
  const ran = await fuzz({ seed: 0xba1a, iterations: 400, budgetMs: 2000 }, async (rng) => {
    const clock = { t: rng.int(0, 1e9) };
    const n = rng.int(1, 6);
    const verdicts = new Map<string, boolean>();
    const balance = rng.pick(ALGORITHMS);
    const group = new UpstreamGroup({
      upstreams: Array.from({ length: n }, (_, i) => ({
        url: `http://10.0.0.${i + 1}:${rng.int(1, 65535)}`,
        weight: rng.chance(0.5) ? 1 : rng.int(1, 10) / rng.int(1, 3),
      })),
      balance,
      passive: rng.chance(0.2) ? false : { maxFails: rng.int(1, 4), failTimeoutMs: rng.int(1, 2000) },
      breaker: rng.chance(0.2)
        ? false
        : {
            window: rng.int(1, 20),
            minRequests: rng.int(1, 10),
            failureRatio: rng.int(1, 10) / 10,
            openMs: rng.int(1, 3000),
          },
      health: { uri: '/h', passes: rng.int(1, 3), fails: rng.int(1, 3) },
      probe: async (u) => ({ ok: verdicts.get(u.id) ?? true, reason: 'fuzz' }),
      failOn: rng.chance(0.5)
        ? ['connect-error', 'reset', 'timeout']
        : ['connect-error', 'reset', 'timeout', 'server-error'],
      now: () => clock.t,
    });
    const inFlight: Upstream[] = [];
    for (let step = 0; step < 150; step++) {
      const roll = rng.int(0, 9);
      if (roll === 0) {
        clock.t += rng.int(0, 2500);
      } else if (roll === 1) {
        for (const u of group.upstreams) verdicts.set(u.id, rng.chance(0.6));
        await group.checkNow();
      } else if (roll <= 4 && inFlight.length > 0) {
        const u = inFlight.splice(rng.int(0, inFlight.length - 1), 1)[0]!;
        group.end(u, rng.pick(OUTCOMES), rng.int(0, 3000));
      } else {
        const exclude = new Set(group.upstreams.filter(() => rng.chance(0.2)));
        const passed = rng.chance(0.5) ? exclude : undefined;
        const ctx = context(rng);
        const u = group.pick(ctx, passed);
        picks++;
        if (u === undefined) {
          for (const other of group.upstreams) {
            assert.ok(!other.available || passed?.has(other), `${other.id} was available, yet no pick`);
          }
          continue;
        }
        assert.ok(u.available, `picked ${u.id} in state ${u.state}`);
        assert.ok(passed === undefined || !passed.has(u), `picked ${u.id}, which was excluded`);
        if (typeof balance === 'object' && keyOf(balance, ctx)) {
          assert.equal(group.pick(ctx, passed), u, 'the same key and upstreams: the same pick');
        }
        group.begin(u);
        inFlight.push(u);
      }
      for (const u of group.upstreams) assert.ok(u.active >= 0);
    }
    for (const u of inFlight) group.end(u, 'ok', 1);
    assert.deepEqual(
      group.upstreams.map((u) => u.active),
      group.upstreams.map(() => 0),
    );
    await group.close();
  });
  assert.ok(ran >= 20, `ran ${ran} cases`);
  assert.ok(picks > 1000);
});
