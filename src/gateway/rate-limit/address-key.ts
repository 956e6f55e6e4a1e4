/**
 * The key a client address is limited under: an IPv4 address as is (an IPv4-mapped IPv6
 * address as its IPv4 form), an IPv6 address by its /64. One subscriber usually holds a whole /64
 * (RFC 6177), so keying single IPv6 addresses would hand one client 2^64 budgets.
 */
export function addressKey(address: string): string {
  if (address.indexOf(':') === -1) return address;
  if (address.startsWith('::ffff:') && address.indexOf('.') !== -1) return address.slice(7);
  const prefix = ipv6Prefix64(address);
  return prefix === undefined ? address : prefix;
}

/** The value of a hex digit, or -1. */
function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/**
 * The groups of `text` from `from` to `to` (`a:b:c`, possibly ending in an IPv4 part, which
 * counts as two), as numbers; undefined when one is not 1–4 hex digits.
 */
function groupsOf(text: string, from: number, to: number): number[] | undefined {
  const out: number[] = [];
  if (from === to) return out;
  let value = 0;
  let digits = 0;
  for (let i = from; i <= to; i++) {
    const code = i === to ? 58 : text.charCodeAt(i);
    if (code === 58 /* : */) {
      if (digits === 0 || digits > 4) return undefined;
      out.push(value);
      value = 0;
      digits = 0;
    } else if (code === 46 /* . */) {
      // An IPv4 tail: two groups, never part of a /64 (its value does not matter here).
      out.push(0, 0);
      return out;
    } else {
      const v = hexValue(code);
      if (v === -1) return undefined;
      value = value * 16 + v;
      digits += 1;
    }
  }
  return out;
}

/** `2001:db8:1:2::/64` for any address in that /64, or undefined when `address` is not IPv6. */
function ipv6Prefix64(address: string): string | undefined {
  let end = address.indexOf('%');
  if (end === -1) end = address.length;
  let start = 0;
  if (address.charCodeAt(0) === 91 /* [ */ && address.charCodeAt(end - 1) === 93) {
    start = 1;
    end -= 1;
  }
  const gap = address.indexOf('::', start);
  let head: number[] | undefined;
  let tail: number[] | undefined;
  if (gap === -1 || gap >= end) {
    head = groupsOf(address, start, end);
    if (head === undefined || head.length !== 8) return undefined;
    tail = [];
  } else {
    if (address.indexOf('::', gap + 1) !== -1 && address.indexOf('::', gap + 1) < end) return undefined;
    head = groupsOf(address, start, gap);
    tail = groupsOf(address, gap + 2, end);
    if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
    const zeros = 8 - head.length - tail.length;
    for (let i = 0; i < zeros && head.length < 4; i++) head.push(0);
  }
  for (let i = 0; head.length < 4; i++) head.push(tail[i]!);
  return `${head[0]!.toString(16)}:${head[1]!.toString(16)}:${head[2]!.toString(16)}:${head[3]!.toString(16)}::/64`;
}
