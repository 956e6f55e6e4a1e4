/**
 * Seeded fuzzing of the forwarding-chain walk (`forwardedHop`): generated chains of trusted,
 * untrusted and unreadable hops in X-Forwarded-For and RFC 7239 spellings, and raw noise. The
 * invariants: it never throws; the answer is the socket peer or a hop that every hop to its
 * right vouches for (readable and trusted); so never a hop left of an untrusted or unreadable
 * one; and a readable, untrusted right-most hop is always the answer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AddressList, forwardedHop, ipBytes, MAX_FORWARDED_HOPS } from '../../src/server/client-address.ts';
import { fuzz, PRINTABLE, type Rng } from '../fixtures/fuzz.ts';

const TRUSTED = new AddressList(['10.0.0.0/8', 'fd00::/8']);

/** What the generator knows of a hop: its address if it wrote one, and whether that is trusted. */
interface ModelHop {
  address: string | undefined;
  trusted: boolean;
}

function ipv4(rng: Rng, first: number): string {
  return `${first}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(0, 255)}`;
}

function ipv6(rng: Rng, trusted: boolean): string {
  const groups = Array.from({ length: 3 }, () => rng.int(0, 0xffff).toString(16));
  return `${trusted ? 'fd12' : '2001:db8'}:${groups.join(':')}::${rng.int(1, 0xffff).toString(16)}`;
}

/** One hop, as the model sees it, and its text in X-Forwarded-For and in a Forwarded `for=`. */
function hop(rng: Rng): { model: ModelHop; xff: string; fwd: string } {
  const trusted = rng.chance(0.5);
  const port = rng.chance(0.3) ? rng.int(1, 65535) : undefined;
  switch (rng.int(0, 5)) {
    case 0:
    case 1: {
      const address = rng.chance(0.15)
        ? `::ffff:${ipv4(rng, trusted ? 10 : 203)}`
        : ipv4(rng, trusted ? 10 : rng.pick([1, 198, 203, 172]));
      const mapped = address.includes(':');
      const text = port === undefined ? address : mapped ? `[${address}]:${port}` : `${address}:${port}`;
      return {
        model: { address, trusted },
        xff: text,
        fwd: mapped || (port !== undefined && rng.chance(0.8)) ? `"${text}"` : text,
      };
    }
    case 2: {
      const address = ipv6(rng, trusted);
      const text = port === undefined ? (rng.chance(0.5) ? address : `[${address}]`) : `[${address}]:${port}`;
      return { model: { address, trusted }, xff: text, fwd: `"${text}"` };
    }
    case 3: {
      const word = rng.pick(['unknown', 'UNKNOWN', '_hidden', '_a.b-c', '']);
      return { model: { address: undefined, trusted: false }, xff: word, fwd: word };
    }
    default: {
      // Never an address: it always holds a letter that no IP literal has.
      const junk = `g${rng.string('ghz0123456789.:[]_-"#% ', rng.int(0, 12))}`;
      return { model: { address: undefined, trusted: false }, xff: junk, fwd: junk };
    }
  }
}

function forwardedElement(rng: Rng, fwd: string): string {
  const pairs = [`${rng.pick(['for', 'For', 'FOR'])}=${fwd}`];
  if (rng.chance(0.4)) pairs.push(`proto=${rng.pick(['http', 'https', 'HTTPS'])}`);
  if (rng.chance(0.3)) pairs.push(`by=${rng.pick(['_proxy', '"[2001:db8::1]"', '10.0.0.1'])}`);
  if (rng.chance(0.3)) pairs.reverse();
  return pairs.join(rng.pick([';', '; ']));
}

function chain(rng: Rng): { model: ModelHop[]; xff: string; forwarded: string } {
  const length = rng.chance(0.05) ? rng.int(MAX_FORWARDED_HOPS - 2, MAX_FORWARDED_HOPS + 40) : rng.int(1, 8);
  // A long chain is mostly trusted, so that the walk reaches the cap.
  const hops = Array.from({ length }, () => {
    if (length > 8 && rng.chance(0.9))
      return { model: { address: `10.9.0.${rng.int(1, 254)}`, trusted: true }, xff: '', fwd: '' };
    return hop(rng);
  });
  for (const h of hops) if (h.xff === '' && h.model.address !== undefined) h.xff = h.fwd = h.model.address;
  const sep = () => rng.pick([', ', ',', ' , ']);
  return {
    model: hops.map((h) => h.model),
    xff: hops.map((h) => h.xff).join(sep()),
    forwarded: hops.map((h) => forwardedElement(rng, h.fwd)).join(sep()),
  };
}

function same(a: string, b: string): boolean {
  const x = ipBytes(a);
  const y = ipBytes(b);
  return x !== undefined && y !== undefined && x.every((byte, i) => byte === y[i]);
}

/**
 * The invariant for one header's model: the answer is the peer, or the hop at some depth d
 * (from the right, within the cap) whose right-hand hops are all readable and trusted.
 */
function vouched(model: ModelHop[], address: string, depth: number): boolean {
  const n = model.length;
  if (depth < 0 || depth >= n || depth >= MAX_FORWARDED_HOPS) return false;
  const at = model[n - 1 - depth]!;
  if (at.address === undefined || !same(at.address, address)) return false;
  for (let d = 0; d < depth; d++) {
    const right = model[n - 1 - d]!;
    if (right.address === undefined || !right.trusted) return false;
  }
  return true;
}

/** The depth of the hop the answer is, in this model, if any satisfies the invariant. */
function depthOf(model: ModelHop[], address: string): number {
  for (let d = 0; d < Math.min(model.length, MAX_FORWARDED_HOPS); d++)
    if (vouched(model, address, d)) return d;
  return -1;
}

test('generated chains: the answer is always vouched for by every hop to its right', async () => {
  const ran = await fuzz({ seed: 0x5eed_7239, iterations: 20_000, budgetMs: 1500 }, (rng) => {
    const a = chain(rng);
    const mode = rng.int(0, 3);
    const b = mode === 3 ? chain(rng) : a;
    const xff = mode === 1 ? undefined : a.xff;
    const forwarded = mode === 0 ? undefined : b.forwarded;
    const result = forwardedHop(xff, forwarded, TRUSTED);
    const models = [...(xff !== undefined ? [a.model] : []), ...(forwarded !== undefined ? [b.model] : [])];
    const context = `X-Forwarded-For: ${xff} / Forwarded: ${forwarded} → ${JSON.stringify(result)}`;
    if (result.node !== undefined) {
      for (const model of models) assert.ok(depthOf(model, result.node.address) !== -1, context);
    }
    // Completeness: a readable, untrusted right-most hop (the same in both headers) is the client.
    const rightmost = models.map((m) => m[m.length - 1]!);
    if (
      rightmost.every((h) => h.address !== undefined && !h.trusted && same(h.address, rightmost[0]!.address!))
    )
      assert.ok(result.node !== undefined && same(result.node.address, rightmost[0]!.address!), context);
    // And an unreadable right-most hop leaves the peer.
    if (rightmost.some((h) => h.address === undefined)) assert.equal(result.node, undefined, context);
  });
  assert.ok(ran >= 500, `only ${ran} cases ran`);
});

test('raw noise: never throws, and an answer is an IP written in the header', async () => {
  const alphabet = `${PRINTABLE}[]:,;="_`;
  const ran = await fuzz({ seed: 0xf0_7239, iterations: 20_000, budgetMs: 1000 }, (rng) => {
    const xff = rng.chance(0.7) ? rng.string(alphabet, rng.int(0, 80)) : undefined;
    const forwarded = rng.chance(0.7) ? rng.string(alphabet, rng.int(0, 80)) : undefined;
    const result = forwardedHop(xff, forwarded, TRUSTED);
    if (result.node !== undefined) {
      assert.ok(ipBytes(result.node.address) !== undefined, JSON.stringify(result));
      assert.ok(
        (xff ?? forwarded ?? '').includes(result.node.address),
        JSON.stringify({ xff, forwarded, result }),
      );
    }
  });
  assert.ok(ran >= 500, `only ${ran} cases ran`);
});
