import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Candidate,
  hashKey,
  leastConnections,
  rendezvous,
  roundRobin,
  smoothWeighted,
} from '../../../src/proxy/balance/algorithms.ts';

interface Fake extends Candidate {
  id: string;
  weight: number;
  active: number;
  available: boolean;
}

function fakes(spec: string): Fake[] {
  // 'a:5 b c:2' → ids with weights (1 by default)
  return spec.split(' ').map((part) => {
    const [id, w] = part.split(':');
    return { id: id!, weight: Number(w ?? 1), active: 0, available: true };
  });
}

function ids(list: readonly Fake[], picks: number[]): string {
  return picks.map((i) => (i === -1 ? '-' : list[i]!.id)).join(' ');
}

function tally(list: readonly Fake[], picks: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of list) out[c.id] = 0;
  for (const i of picks) out[list[i]!.id]!++;
  return out;
}

describe('round robin', () => {
  test('takes each in turn', () => {
    const list = fakes('a b c');
    const cursor = { next: 0 };
    const picks = Array.from({ length: 7 }, () => roundRobin(list, undefined, cursor));
    assert.equal(ids(list, picks), 'a b c a b c a');
  });

  test('skips an unavailable one and an excluded one, and says -1 when none is left', () => {
    const list = fakes('a b c');
    const cursor = { next: 0 };
    list[1]!.available = false;
    assert.equal(
      ids(
        list,
        Array.from({ length: 4 }, () => roundRobin(list, undefined, cursor)),
      ),
      'a c a c',
    );
    const exclude = new Set([list[0]!]);
    assert.equal(ids(list, [roundRobin(list, exclude, cursor), roundRobin(list, exclude, cursor)]), 'c c');
    list[2]!.available = false;
    assert.equal(roundRobin(list, exclude, cursor), -1);
    assert.equal(roundRobin([], undefined, cursor), -1);
  });
});

describe('smooth weighted round robin', () => {
  test("weights 5, 1, 1 give nginx's sequence a a b a c a a", () => {
    const list = fakes('a:5 b c');
    const current = [0, 0, 0];
    const picks = Array.from({ length: 14 }, () => smoothWeighted(list, undefined, current));
    assert.equal(ids(list, picks), 'a a b a c a a a a b a c a a');
    assert.deepEqual(current, [0, 0, 0], 'one full cycle brings the current weights back to zero');
  });

  test('700 picks over weights 5, 1, 1 are exactly 500, 100, 100', () => {
    const list = fakes('a:5 b c');
    const current = [0, 0, 0];
    const picks = Array.from({ length: 700 }, () => smoothWeighted(list, undefined, current));
    assert.deepEqual(tally(list, picks), { a: 500, b: 100, c: 100 });
  });

  test('the heavy one is never picked more than its share in a row (no burst)', () => {
    const list = fakes('a:3 b:1');
    const current = [0, 0];
    const picks = Array.from({ length: 40 }, () => smoothWeighted(list, undefined, current));
    assert.equal(ids(list, picks.slice(0, 8)), 'a a b a a a b a');
    assert.ok(!ids(list, picks).includes('a a a a'), 'at most three a in a row');
    assert.deepEqual(tally(list, picks), { a: 30, b: 10 });
  });

  test('an unavailable one takes nothing; the rest keep their proportions', () => {
    const list = fakes('a:2 b:5 c:1');
    const current = [0, 0, 0];
    list[1]!.available = false;
    const picks = Array.from({ length: 300 }, () => smoothWeighted(list, undefined, current));
    assert.deepEqual(tally(list, picks), { a: 200, b: 0, c: 100 });
    assert.equal(smoothWeighted(list, new Set([list[0]!, list[2]!]), current), -1);
  });
});

describe('least connections', () => {
  test('the one with the fewest requests in flight', () => {
    const list = fakes('a b c');
    list[0]!.active = 2;
    list[1]!.active = 0;
    list[2]!.active = 1;
    assert.equal(leastConnections(list, undefined, { next: 0 }), 1);
  });

  test('per unit of weight: 2 in flight on weight 3 beats 1 on weight 1', () => {
    const list = fakes('a b:3');
    list[0]!.active = 1;
    list[1]!.active = 2;
    assert.equal(leastConnections(list, undefined, { next: 0 }), 1);
    list[1]!.active = 4; // 4/3 > 1/1
    assert.equal(leastConnections(list, undefined, { next: 0 }), 0);
  });

  test('ties go to the heavier one, then take turns', () => {
    const list = fakes('a b:2 c d:2');
    const cursor = { next: 0 };
    const picks = Array.from({ length: 4 }, () => leastConnections(list, undefined, cursor));
    assert.equal(ids(list, picks), 'b d b d');
    const even = fakes('a b c');
    const c2 = { next: 0 };
    assert.equal(
      ids(
        even,
        Array.from({ length: 5 }, () => leastConnections(even, undefined, c2)),
      ),
      'a b c a b',
    );
  });

  test('requests held open steer new ones to the idle upstream', () => {
    const list = fakes('a b c');
    const cursor = { next: 0 };
    const picks: number[] = [];
    for (let i = 0; i < 9; i++) {
      const p = leastConnections(list, undefined, cursor);
      picks.push(p);
      list[p]!.active++; // every request stays open
    }
    assert.deepEqual(tally(list, picks), { a: 3, b: 3, c: 3 });
    list[0]!.active = 0; // a's finished
    assert.equal(leastConnections(list, undefined, cursor), 0);
  });

  test('skips unavailable and excluded ones', () => {
    const list = fakes('a b c');
    list[0]!.active = 5;
    list[1]!.available = false;
    assert.equal(leastConnections(list, new Set([list[2]!]), { next: 0 }), 0);
    assert.equal(leastConnections(list, new Set([list[0]!, list[2]!]), { next: 0 }), -1);
  });
});

describe('rendezvous hashing', () => {
  const keys = Array.from({ length: 12_000 }, (_, i) => `session-${i}`);
  function place(list: readonly Fake[], seeds: number[]): number[] {
    return keys.map((k) => rendezvous(list, undefined, hashKey(k), seeds));
  }

  test('FNV-1a test vectors', () => {
    assert.equal(hashKey(''), 0x811c9dc5);
    assert.equal(hashKey('a'), 0xe40c292c);
    assert.equal(hashKey('foobar'), 0xbf9cf968);
  });

  test('equal weights spread keys evenly (each within 5% of a third)', () => {
    const list = fakes('a b c');
    const seeds = list.map((c) => hashKey(c.id));
    const counts = tally(list, place(list, seeds));
    for (const n of Object.values(counts)) assert.ok(Math.abs(n - 4000) < 200, JSON.stringify(counts));
  });

  test('weights 1, 2, 1 give a quarter, a half, a quarter (within 3 points)', () => {
    const list = fakes('a b:2 c');
    const seeds = list.map((c) => hashKey(c.id));
    const counts = tally(list, place(list, seeds));
    assert.ok(Math.abs(counts.a! / keys.length - 0.25) < 0.03, JSON.stringify(counts));
    assert.ok(Math.abs(counts.b! / keys.length - 0.5) < 0.03, JSON.stringify(counts));
    assert.ok(Math.abs(counts.c! / keys.length - 0.25) < 0.03, JSON.stringify(counts));
  });

  test('sticky: the same key always lands on the same upstream', () => {
    const list = fakes('a b c d');
    const seeds = list.map((c) => hashKey(c.id));
    for (const k of keys.slice(0, 500)) {
      const first = rendezvous(list, undefined, hashKey(k), seeds);
      for (let i = 0; i < 3; i++) assert.equal(rendezvous(list, undefined, hashKey(k), seeds), first);
    }
  });

  test('one down: only its keys move, spread over the others; back: every key returns', () => {
    const list = fakes('a b c d');
    const seeds = list.map((c) => hashKey(c.id));
    const before = place(list, seeds);
    list[1]!.available = false;
    const during = place(list, seeds);
    let moved = 0;
    const movedTo = new Set<number>();
    for (let i = 0; i < keys.length; i++) {
      if (before[i] === 1) {
        assert.notEqual(during[i], 1);
        moved++;
        movedTo.add(during[i]!);
      } else {
        assert.equal(during[i], before[i], `key ${keys[i]} moved though its upstream stayed`);
      }
    }
    assert.ok(moved > 2500 && moved < 3500, `b held about a quarter of the keys, got ${moved}`);
    assert.deepEqual([...movedTo].sort(), [0, 2, 3], "b's keys spread over all the others");
    list[1]!.available = true;
    assert.deepEqual(place(list, seeds), before);
  });

  test('excluding the first choice gives the second choice, the same one each time', () => {
    const list = fakes('a b c');
    const seeds = list.map((c) => hashKey(c.id));
    const h = hashKey('user-7');
    const first = rendezvous(list, undefined, h, seeds);
    const second = rendezvous(list, new Set([list[first]!]), h, seeds);
    assert.notEqual(second, first);
    list[first]!.available = false;
    assert.equal(rendezvous(list, undefined, h, seeds), second);
    assert.equal(rendezvous(list, new Set(list), h, seeds), -1);
  });

  test('a new upstream takes keys only for itself (about its share)', () => {
    const three = fakes('a b c');
    const four = [...three, ...fakes('d')];
    const before = place(
      three,
      three.map((c) => hashKey(c.id)),
    );
    const after = place(
      four,
      four.map((c) => hashKey(c.id)),
    );
    let toD = 0;
    for (let i = 0; i < keys.length; i++) {
      if (after[i] === 3) toD++;
      else assert.equal(after[i], before[i]);
    }
    assert.ok(toD > 2500 && toD < 3500, `d takes about a quarter, got ${toD}`);
  });

  test('the order of the list does not matter, only the ids', () => {
    const list = fakes('a b c');
    const reversed = [...list].reverse();
    for (const k of keys.slice(0, 300)) {
      const h = hashKey(k);
      const x =
        list[
          rendezvous(
            list,
            undefined,
            h,
            list.map((c) => hashKey(c.id)),
          )
        ]!;
      const y =
        reversed[
          rendezvous(
            reversed,
            undefined,
            h,
            reversed.map((c) => hashKey(c.id)),
          )
        ]!;
      assert.equal(x.id, y.id);
    }
  });
});
